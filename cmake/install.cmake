# Install rules: the `corvee` binary, the public headers, the static libraries a user links (the
# public client and worker and every internal library they depend on), a CMake package
# (find_package(Corvee) -> Corvee::client, Corvee::worker) and a pkg-config file (corvee.pc).
# Components: `runtime` (the binary and the docs) and `dev` (the rest); a plain `cmake --install`
# installs both. The Debian package (cmake/package.cmake) holds `runtime` and its own `deb`.
include(CMakePackageConfigHelpers)

set(CORVEE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Corvee)
set(CORVEE_EXPORTED corvee_common corvee_platform corvee_protocol corvee_net corvee_client corvee_worker)

install(TARGETS corvee RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS ${CORVEE_EXPORTED} EXPORT CorveeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/corvee DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(FILES ${PROJECT_BINARY_DIR}/generated/include/corvee/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corvee COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)

install(EXPORT CorveeTargets NAMESPACE Corvee:: DESTINATION ${CORVEE_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/CorveeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/CorveeConfig.cmake INSTALL_DESTINATION ${CORVEE_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/CorveeConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/CorveeConfig.cmake ${PROJECT_BINARY_DIR}/CorveeConfigVersion.cmake
        DESTINATION ${CORVEE_CMAKE_DIR} COMPONENT dev)

# pkg-config: static libraries, so Libs lists every one in link order, and spdlog (which brings
# fmt) and the thread library they need.
# The prefix is found relative to the file (${pcfiledir}), so `cmake --install --prefix DIR`
# gives a corvee.pc that points into DIR.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(CORVEE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH CORVEE_PC_UP "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" CORVEE_PC_UP "${CORVEE_PC_UP}")
  set(CORVEE_PC_PREFIX "\${pcfiledir}/${CORVEE_PC_UP}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/corvee.pc.in ${PROJECT_BINARY_DIR}/corvee.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/corvee.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
