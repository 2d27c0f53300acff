# The project's warning set, for GCC and Clang: PIXEL_WARNING_FLAGS for C and C++,
# PIXEL_CXX_WARNING_FLAGS for C++ only. Also used by tests that run the compiler themselves
# (tests/docs: the documentation's snippets).
set(PIXEL_WARNING_FLAGS
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wcast-align
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
set(PIXEL_CXX_WARNING_FLAGS -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)

# pixel_set_warnings(target): the project's warning set, -Werror when PIXEL_WERROR is on.
function(pixel_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${PIXEL_WERROR}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE ${PIXEL_WARNING_FLAGS}
      "$<$<COMPILE_LANGUAGE:CXX>:${PIXEL_CXX_WARNING_FLAGS}>"
      $<$<BOOL:${PIXEL_WERROR}>:-Werror>)
  endif()
endfunction()
