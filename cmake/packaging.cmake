# `cmake --install` layout and the Debian package (`cpack -G DEB` in the build folder):
#   bin/streamgate, etc/streamgate/streamgate.yaml (every key with its default), share/doc/streamgate/, and the
#   systemd unit under lib/systemd/system. With the prefix /usr (the .deb) the config goes to /etc/streamgate.
include(GNUInstallDirs)

install(TARGETS streamgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES README.md SECURITY.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES deploy/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME deploy.md)

# /etc and /lib/systemd only exist outside the prefix for a system install (prefix /usr): decided at install time,
# when the prefix is known (cpack installs with /usr, a user with --prefix anything).
set(SG_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
configure_file(${SG_PACKAGING_DIR}/debian/changelog ${PROJECT_BINARY_DIR}/packaging/changelog @ONLY)
install(CODE "
  set(sg_src \"${SG_PACKAGING_DIR}\")
  set(sg_bin \"${PROJECT_BINARY_DIR}/packaging\")
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(sg_etc /etc/streamgate)
    set(sg_units /lib/systemd/system)
  else()
    set(sg_etc \"\${CMAKE_INSTALL_PREFIX}/etc/streamgate\")
    set(sg_units \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  endif()
  file(INSTALL DESTINATION \"\${sg_etc}\" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"\${sg_src}/streamgate.yaml\")
  file(INSTALL DESTINATION \"\${sg_units}\" TYPE FILE PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"\${sg_src}/streamgate.service\")
  # Debian policy 12.5/12.7: copyright and a compressed changelog (a native package: changelog.gz) beside the docs.
  execute_process(COMMAND gzip -9n -c \"\${sg_bin}/changelog\" OUTPUT_FILE \"\${sg_bin}/changelog.gz\")
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"\${sg_src}/debian/copyright\" \"\${sg_bin}/changelog.gz\")
")

set(CPACK_PACKAGE_NAME streamgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "streamgate maintainers <streamgate@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "streaming media server for RTSP, WebRTC and HLS")
set(CPACK_PACKAGE_DESCRIPTION "Cameras publish or are pulled over RTSP; browsers play over WebRTC
(WHEP) and HLS, players over RTSP. One self-contained binary with its
player pages, a REST API, Prometheus metrics and a systemd unit.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # streamgate_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends computed by dpkg-shlibdeps from the libraries the binary links (libc, libssl3, libgcrypt20, liburing2, libyaml-cpp, libopus).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# dlopen()ed on the first AAC -> Opus transcode, so dpkg-shlibdeps cannot see them: named from the sonames the
# build's headers expect (src/transcode).
string(REGEX MATCH "^[0-9]+" sg_avcodec_major "${AV_libavcodec_VERSION}")
string(REGEX MATCH "^[0-9]+" sg_swresample_major "${AV_libswresample_VERSION}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libavcodec${sg_avcodec_major}, libswresample${sg_swresample_major}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "ffmpeg")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SG_PACKAGING_DIR}/debian/conffiles ${SG_PACKAGING_DIR}/debian/postinst ${SG_PACKAGING_DIR}/debian/prerm
    ${SG_PACKAGING_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
