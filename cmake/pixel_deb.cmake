# Debian packages of the install components, built by `cpack -G DEB` (scripts/package.sh):
# libpixel${PIXEL_SOVERSION} (libpixel1), libpixel-dev and pixel-tools, each with its copyright and changelog, their
# dependencies computed by dpkg-shlibdeps.
option(PIXEL_INSTALL_MAN "Install the pixel(1) man page, generated from --help by help2man" OFF)

set(PIXEL_DEB_RELEASE 1)
set(PIXEL_DEB_VERSION ${PROJECT_VERSION}-${PIXEL_DEB_RELEASE})
set(PIXEL_DEB_MAINTAINER "The pixel authors <maintainers@pixel.invalid>")
set(PIXEL_DEB_PACKAGES lib=libpixel${PIXEL_SOVERSION} dev=libpixel-dev tools=pixel-tools)
find_program(PIXEL_GZIP gzip REQUIRED)  # before its first use: the man page and the changelog

if(TARGET pixel_cli AND PIXEL_INSTALL_MAN)
  find_program(PIXEL_HELP2MAN help2man REQUIRED)
  set(_man ${PROJECT_BINARY_DIR}/man/pixel.1)
  add_custom_command(OUTPUT ${_man}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -DPIXEL=$<TARGET_FILE:pixel_cli> -DHELP2MAN=${PIXEL_HELP2MAN}
      -DGZIP=${PIXEL_GZIP} -DOUT=${_man} -P ${PROJECT_SOURCE_DIR}/cmake/pixel_man.cmake
    DEPENDS pixel_cli ${PROJECT_SOURCE_DIR}/cmake/pixel_man.cmake
      ${PROJECT_SOURCE_DIR}/cmake/pixel_man.h2m
    COMMENT "pixel(1) from pixel --help")
  add_custom_target(pixel_man ALL DEPENDS ${_man}.gz)
  install(FILES ${_man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
endif()

# The changelog's date: the last commit's when known (reproducible), else now.
if(DEFINED ENV{SOURCE_DATE_EPOCH})
  set(_epoch $ENV{SOURCE_DATE_EPOCH})
else()
  execute_process(COMMAND git -C ${PROJECT_SOURCE_DIR} log -1 --format=%ct
    OUTPUT_VARIABLE _epoch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0 OR _epoch STREQUAL "")
    string(TIMESTAMP _epoch "%s" UTC)
  endif()
endif()
set(ENV{SOURCE_DATE_EPOCH} ${_epoch})
string(TIMESTAMP PIXEL_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
unset(ENV{SOURCE_DATE_EPOCH})
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in
  ${PROJECT_BINARY_DIR}/debian/changelog.Debian @ONLY)
execute_process(COMMAND ${PIXEL_GZIP} -9nc ${PROJECT_BINARY_DIR}/debian/changelog.Debian
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz COMMAND_ERROR_IS_FATAL ANY)

foreach(_pair IN LISTS PIXEL_DEB_PACKAGES)
  string(REPLACE "=" ";" _pair ${_pair})
  list(GET _pair 0 _component)
  list(GET _pair 1 _package)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
      ${PROJECT_BINARY_DIR}/debian/changelog.Debian.gz
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_package} COMPONENT ${_component})
  string(TOUPPER ${_component} _c)
  set(CPACK_DEBIAN_${_c}_PACKAGE_NAME ${_package})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pixel)
set(CPACK_PACKAGE_VENDOR "The pixel authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${PIXEL_DEB_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL lib dev)
if(TARGET pixel_cli)
  list(APPEND CPACK_COMPONENTS_ALL tools)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PIXEL_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${PIXEL_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SOURCE pixel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# shlibs (for packages linking libpixel.so.${PIXEL_SOVERSION}) and the ldconfig trigger, as
# debhelper makes them: no maintainer scripts. CPack writes a postinst and a postrm that call
# ldconfig into any package with a library under /usr/lib, and has no switch to leave them
# out; a postrm would also keep the removed package in dpkg's "rc" state. They are taken out
# of the built package again (cmake/debian/drop_ldconfig_scripts.cmake), after CPack.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
find_program(PIXEL_DPKG_DEB dpkg-deb)
set(CPACK_PIXEL_DPKG_DEB ${PIXEL_DPKG_DEB})
set(CPACK_PIXEL_LIB_PACKAGE libpixel${PIXEL_SOVERSION})
set(CPACK_POST_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/debian/drop_ldconfig_scripts.cmake)
set(CPACK_DEBIAN_LIB_DESCRIPTION "tracking-pixel SDK for CloudFront real-time logs (C library)
libpixel builds tracking-pixel URLs and <img> tags for a CloudFront
distribution with real-time logs, and delivers pixel events in the
background with retries, bounded queues and timeouts.
.
This package holds the shared library libpixel.so.${PIXEL_SOVERSION} with the C API, which
the Python, Node.js and Rust bindings load.")

set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libpixel${PIXEL_SOVERSION} (= ${PIXEL_DEB_VERSION}), libcurl4-openssl-dev | libcurl-dev, zlib1g-dev, libsqlite3-dev, libssl-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION "tracking-pixel SDK for CloudFront real-time logs (development files)
libpixel builds tracking-pixel URLs and <img> tags for a CloudFront
distribution with real-time logs, and delivers pixel events in the
background.
.
This package holds the C and C++ headers, the static C++ library
libpixelcpp.a, the CMake package (find_package(pixel)) and the pkg-config
files pixel.pc (C) and pixel-cpp.pc (C++).")

set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "tracking-pixel URLs, delivery, a local edge and its logs
The pixel command prints tracking-pixel URLs and <img> tags, sends events
to a CloudFront distribution, runs a local stand-in of CloudFront that
writes real-time log records, and reads such records back as JSON Lines,
CSV or TSV.")

include(CPack)
