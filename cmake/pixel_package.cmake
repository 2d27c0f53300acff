# The package as others consume it:
#   - always: a build-tree package (export()), so find_package(pixel CONFIG) with
#     pixel_DIR=<build dir> uses the targets built here, no install step;
#   - with PIXEL_INSTALL (on for the top-level project only): install rules for the
#     CMake package, pkg-config files and the tool, in three components that CPack turns
#     into Debian packages (scripts/package.sh):
#       lib   -> libpixel1     libpixel.so.1, the C ABI (PIXEL_SOVERSION)
#       dev   -> libpixel-dev  headers, libpixelcpp.a, CMake package, pkg-config files
#       tools -> pixel-tools   the pixel command and its man page
include(CMakePackageConfigHelpers)

set(PIXEL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pixel)
set(_pixel_targets pixel_headers pixel_log pixel_cpp)
if(TARGET pixel_c)
  list(APPEND _pixel_targets pixel_c)
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pixelConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pixelConfig.cmake
  INSTALL_DESTINATION ${PIXEL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pixelConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
export(TARGETS ${_pixel_targets} NAMESPACE pixel:: FILE ${PROJECT_BINARY_DIR}/pixelTargets.cmake)

if(NOT PIXEL_INSTALL)
  return()
endif()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pixel
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/pixel/version.h
  ${PROJECT_BINARY_DIR}/include/pixel/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pixel COMPONENT dev)

install(TARGETS ${_pixel_targets}
  EXPORT pixelTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT lib
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT pixelTargets
  NAMESPACE pixel::
  DESTINATION ${PIXEL_CMAKE_DIR} COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/pixelConfig.cmake ${PROJECT_BINARY_DIR}/pixelConfigVersion.cmake
  DESTINATION ${PIXEL_CMAKE_DIR} COMPONENT dev)

# pixel.pc: the C library (libpixel.so); pixel-cpp.pc: the C++ library; pixel-log.pc: the
# log reader alone (no libcurl). Relocatable: the
# prefix is found from the .pc file's own place, so `cmake --install --prefix X` works.
file(RELATIVE_PATH PIXEL_PC_RELATIVE_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" PIXEL_PC_RELATIVE_PREFIX "${PIXEL_PC_RELATIVE_PREFIX}")
foreach(_pc pixel pixel-cpp pixel-log)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${_pc}.pc.in ${PROJECT_BINARY_DIR}/${_pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${_pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endforeach()

include(pixel_deb)
