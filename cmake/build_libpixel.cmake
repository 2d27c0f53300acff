# Builds libpixel.so (target pixel_c, Release, nothing else) from this source tree and
# copies it, under its SONAME, into DEST. What the bindings' packaging calls (the Python
# build backend, the Node package's prepack, the Rust build script):
#   cmake -DDEST=<dir> [-DBUILD_DIR=<dir>] [-DLIBRARY=<built libpixel.so>] -P build_libpixel.cmake
# With LIBRARY (or the environment's PIXEL_PREBUILT_LIBRARY) nothing is built: that file is
# copied. BUILD_DIR defaults to build/libpixel in the source tree, so repeated packaging
# builds only what changed.
cmake_minimum_required(VERSION 3.25)
get_filename_component(_source ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
if(NOT DEST)
  message(FATAL_ERROR "build_libpixel.cmake: set -DDEST=<dir>")
endif()
if(NOT LIBRARY AND DEFINED ENV{PIXEL_PREBUILT_LIBRARY})
  set(LIBRARY $ENV{PIXEL_PREBUILT_LIBRARY})
endif()

if(NOT LIBRARY)
  if(NOT BUILD_DIR)
    set(BUILD_DIR ${_source}/build/libpixel)
  endif()
  set(_generator)
  find_program(_ninja ninja)
  if(_ninja AND NOT EXISTS ${BUILD_DIR}/CMakeCache.txt)
    set(_generator -G Ninja)
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -S ${_source} -B ${BUILD_DIR} ${_generator}
      -DCMAKE_BUILD_TYPE=Release -DPIXEL_BUILD_TESTS=OFF -DPIXEL_BUILD_TOOLS=OFF
      -DPIXEL_BUILD_EXAMPLES=OFF -DPIXEL_BUILD_BENCH=OFF -DPIXEL_INSTALL=OFF
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "configuring libpixel failed (${_rc})")
  endif()
  cmake_host_system_information(RESULT _cores QUERY NUMBER_OF_LOGICAL_CORES)
  execute_process(
    COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target pixel_c --parallel ${_cores}
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "building libpixel failed (${_rc})")
  endif()
  file(GLOB LIBRARY ${BUILD_DIR}/src/capi/libpixel.so.*.*.*)
  if(NOT LIBRARY)
    message(FATAL_ERROR "no libpixel.so.X.Y.Z under ${BUILD_DIR}/src/capi")
  endif()
  # A build folder that saw an older SONAME still holds that file: take the newest version.
  list(SORT LIBRARY COMPARE NATURAL ORDER DESCENDING)
  list(GET LIBRARY 0 LIBRARY)
endif()

# The file is named by its SONAME (libpixel.so.1), as the loaders look for it.
get_filename_component(_real ${LIBRARY} REALPATH)
get_filename_component(_name ${_real} NAME)
string(REGEX MATCH "^libpixel\\.so\\.[0-9]+" _soname "${_name}")
if(NOT _soname)
  message(FATAL_ERROR "${LIBRARY} is not a libpixel.so.N file")
endif()
file(MAKE_DIRECTORY ${DEST})
file(COPY_FILE ${_real} ${DEST}/${_soname})
message(STATUS "libpixel: ${DEST}/${_soname} (from ${_real})")
