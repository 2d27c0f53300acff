# Writes the pixel(1) man page from the tool's own --help (help2man), with every
# subcommand's help as a section and the EXAMPLES and EXIT STATUS of pixel_man.h2m,
# compressed as Debian ships man pages.
#   cmake -DPIXEL=<pixel> -DHELP2MAN=<help2man> -DGZIP=<gzip> -DOUT=<dir>/pixel.1 -P pixel_man.cmake
set(_include ${OUT}.include)
file(WRITE ${_include} "[SUBCOMMANDS]\n")
foreach(_sub url img send edge logs reconcile opens)
  execute_process(COMMAND ${PIXEL} ${_sub} --help OUTPUT_VARIABLE _help RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "pixel ${_sub} --help exited ${_rc}")
  endif()
  # Roff: a literal block per subcommand; backslashes and leading dots escaped.
  string(REPLACE "\\" "\\e" _help "${_help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" _help "${_help}")
  file(APPEND ${_include} ".SS \"pixel ${_sub}\"\n.nf\n${_help}.fi\n")
endforeach()
file(READ ${CMAKE_CURRENT_LIST_DIR}/pixel_man.h2m _sections)
file(APPEND ${_include} "${_sections}")
execute_process(
  COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
    "--name=tracking-pixel URLs, tags, delivery, a local edge and its logs"
    --include=${_include} --output=${OUT} ${PIXEL}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "help2man exited ${_rc}")
endif()
execute_process(COMMAND ${GZIP} -9nf ${OUT} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "gzip exited ${_rc}")
endif()
