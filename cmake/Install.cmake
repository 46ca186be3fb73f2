# What `cmake --install build --prefix P` puts where (GNUInstallDirs), in three components that
# cmake/Packaging.cmake turns into Debian packages:
#   cli  bin/r1vk, the demo model in share/r1vk/models/r1vk-demo (where the CLI looks first,
#        relative to its own location), README
#   lib  lib/libr1vk.so.<api major> (+ the full-version file), the runtime of the C API
#   dev  include/r1vk/{r1vk,version}.h, lib/libr1vk.so, lib/cmake/r1vk (find_package(r1vk CONFIG)
#        -> r1vk::r1vk), lib/pkgconfig/r1vk.pc, the C API guide and its example program
# The CLI links the runtime statically, so it needs no libr1vk; installed binaries carry no RPATH.
include(CMakePackageConfigHelpers)

set(R1VK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/r1vk)
set(R1VK_DATA_DIR ${CMAKE_INSTALL_DATADIR}/r1vk)

install(TARGETS r1vk RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/r1vk-demo DESTINATION ${R1VK_DATA_DIR}/models COMPONENT cli)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT cli)

install(TARGETS r1vk_capi EXPORT r1vkTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/r1vk/r1vk.h ${PROJECT_BINARY_DIR}/include/r1vk/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/r1vk COMPONENT dev)
install(EXPORT r1vkTargets NAMESPACE r1vk:: DESTINATION ${R1VK_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/install/r1vkConfig.cmake.in
  ${PROJECT_BINARY_DIR}/install/r1vkConfig.cmake INSTALL_DESTINATION ${R1VK_CMAKE_DIR})
# The ABI is the soname's business; the release version only says which release this is, and a
# consumer asking for 0.1 accepts any later 0.x.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/install/r1vkConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/install/r1vkConfig.cmake ${PROJECT_BINARY_DIR}/install/r1vkConfigVersion.cmake
  DESTINATION ${R1VK_CMAKE_DIR} COMPONENT dev)

file(RELATIVE_PATH R1VK_PC_PREFIX_FROM_PCDIR /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${PROJECT_SOURCE_DIR}/cmake/install/r1vk.pc.in ${PROJECT_BINARY_DIR}/install/r1vk.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/install/r1vk.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/docs/c_api.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT dev)
install(FILES ${PROJECT_SOURCE_DIR}/tools/c_example/main.c DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  RENAME c_example.c COMPONENT dev)
