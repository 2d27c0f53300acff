# CPack post-build script: takes the postinst and postrm that CPack writes (each only
# calls ldconfig) out of the library package, which has the ldconfig trigger instead. The
# package is unpacked with its control files and built again by dpkg-deb.
if(NOT CPACK_PIXEL_DPKG_DEB)
  message(FATAL_ERROR "dpkg-deb is needed to build the Debian packages")
endif()
foreach(_deb IN LISTS CPACK_PACKAGE_FILES)
  get_filename_component(_name ${_deb} NAME)
  if(NOT _name MATCHES "^${CPACK_PIXEL_LIB_PACKAGE}_")
    continue()
  endif()
  set(_tree ${_deb}.unpacked)
  file(REMOVE_RECURSE ${_tree})
  execute_process(COMMAND ${CPACK_PIXEL_DPKG_DEB} --raw-extract ${_deb} ${_tree}
    COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE ${_tree}/DEBIAN/postinst ${_tree}/DEBIAN/postrm)
  execute_process(COMMAND ${CPACK_PIXEL_DPKG_DEB} --root-owner-group -Zxz --build ${_tree} ${_deb}
    OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
  file(REMOVE_RECURSE ${_tree})
endforeach()
