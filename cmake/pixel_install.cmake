# Install rules, the exported package (find_package(pixel CONFIG)) and pkg-config files.
include(CMakePackageConfigHelpers)

set(PIXEL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pixel)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pixel
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

set(_pixel_targets pixel_headers pixel_log pixel_cpp)
if(TARGET pixel_c)
  list(APPEND _pixel_targets pixel_c)
endif()
install(TARGETS ${_pixel_targets}
  EXPORT pixelTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT pixelTargets
  NAMESPACE pixel::
  DESTINATION ${PIXEL_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pixelConfig.cmake.in
  ${PROJECT_BINARY_DIR}/pixelConfig.cmake
  INSTALL_DESTINATION ${PIXEL_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pixelConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pixelConfig.cmake ${PROJECT_BINARY_DIR}/pixelConfigVersion.cmake
  DESTINATION ${PIXEL_CMAKE_DIR})

# pixel.pc: the C library (libpixel.so); pixel-cpp.pc: the C++ library; pixel-log.pc: the
# log reader alone (no libcurl). Relocatable: the
# prefix is found from the .pc file's own place, so `cmake --install --prefix X` works.
file(RELATIVE_PATH PIXEL_PC_RELATIVE_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" PIXEL_PC_RELATIVE_PREFIX "${PIXEL_PC_RELATIVE_PREFIX}")
foreach(_pc pixel pixel-cpp pixel-log)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${_pc}.pc.in ${PROJECT_BINARY_DIR}/${_pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${_pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
