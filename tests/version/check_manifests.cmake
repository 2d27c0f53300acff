# Every manifest of the bindings carries the project's version (project(VERSION)).
#   cmake -DVERSION=<x.y.z> -DSOURCE_DIR=<repository> -P check_manifests.cmake
# Each entry: file|a regular expression whose first group is the version there.
set(_checks
  "bindings/python/pyproject.toml|\n\\[project\\]\nname = \"pixel\"\nversion = \"([^\"]*)\""
  "bindings/node/package.json|\n  \"version\": \"([^\"]*)\""
  "bindings/node/package-lock.json|\n  \"name\": \"pixel\",\n  \"version\": \"([^\"]*)\""
  "bindings/node/package-lock.json|\n    \"\": {\n      \"name\": \"pixel\",\n      \"version\": \"([^\"]*)\""
  "bindings/rust/Cargo.toml|\\[package\\]\nname = \"pixel\"\nversion = \"([^\"]*)\""
  "bindings/rust/Cargo.lock|\nname = \"pixel\"\nversion = \"([^\"]*)\"")
set(_failed 0)
foreach(_check IN LISTS _checks)
  string(FIND "${_check}" "|" _sep)
  string(SUBSTRING "${_check}" 0 ${_sep} _file)
  math(EXPR _sep "${_sep} + 1")
  string(SUBSTRING "${_check}" ${_sep} -1 _regex)
  file(READ ${SOURCE_DIR}/${_file} _text)
  if(NOT _text MATCHES "${_regex}")
    message(SEND_ERROR "${_file}: no version found (${_regex})")
    set(_failed 1)
  elseif(NOT CMAKE_MATCH_1 STREQUAL VERSION)
    message(SEND_ERROR "${_file}: version ${CMAKE_MATCH_1}, the project's is ${VERSION}")
    set(_failed 1)
  else()
    message(STATUS "${_file}: ${CMAKE_MATCH_1}")
  endif()
endforeach()
