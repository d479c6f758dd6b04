# The Debian package, made by CPack: `cpack -G DEB` in the build directory gives
# corvee_<version>_<arch>.deb. It holds the `runtime` component (/usr/bin/corvee, the docs) and
# the `deb` one: /etc/corvee/corvee.conf (a conffile) and the systemd unit corvee-broker.service.
# Its maintainer scripts (packaging/deb/) create the corvee system user and /var/lib/corvee.
# The headers, static libraries and CMake package (`dev`) are left out: use `cmake --install`.
set(CORVEE_DEB_DIR ${PROJECT_SOURCE_DIR}/packaging/deb)

# Absolute destinations, so EXCLUDE_FROM_ALL: `cmake --install --prefix DIR` (the `runtime` and
# `dev` components) never writes to /etc or /lib; only the package installs them.
install(FILES ${CORVEE_DEB_DIR}/corvee.conf DESTINATION /etc/corvee COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${CORVEE_DEB_DIR}/corvee-broker.service DESTINATION /lib/systemd/system
        COMPONENT deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME corvee)
set(CPACK_PACKAGE_VENDOR "Corvee")
set(CPACK_PACKAGE_CONTACT "Corvee maintainers <corvee@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "distributed task queue: broker, workers and the corvee command")
set(CPACK_PACKAGE_DESCRIPTION "Corvee is a distributed task queue in C++20: a broker that keeps jobs \
in an embedded durable store (SQLite) and deals them to workers with free slots, watching their time \
limits; workers that run builtin tasks or any command; and one command-line tool, corvee, for all \
of it. The package runs the broker as the systemd service corvee-broker, configured in \
/etc/corvee/corvee.conf.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime deb)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_PACKAGE_NAME corvee)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages come from dpkg-shlibdeps; adduser is for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CORVEE_DEB_DIR}/conffiles ${CORVEE_DEB_DIR}/postinst ${CORVEE_DEB_DIR}/prerm ${CORVEE_DEB_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
