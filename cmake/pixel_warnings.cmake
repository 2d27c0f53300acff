# pixel_set_warnings(target): the project's warning set, -Werror when PIXEL_WERROR is on.
function(pixel_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${PIXEL_WERROR}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wcast-align
      -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
      $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual>
      $<$<BOOL:${PIXEL_WERROR}>:-Werror>)
  endif()
endfunction()
