# `cpack -G DEB` in the build tree: one Debian package per install component (cmake/Install.cmake)
#   r1vk        the CLI and the demo model
#   libr1vk1    libr1vk.so.1, the C API runtime (named after its soname, as Debian does)
#   libr1vk-dev header, CMake package, pkg-config file, the C API guide; depends on libr1vk1 (= version)
# dpkg-shlibdeps derives each package's Depends from the libraries its binaries link (libvulkan1,
# libstdc++6, ICU, PCRE2, xxHash, ...). A Vulkan driver is only recommended: any ICD will do (a
# GPU's, or Mesa's lavapipe on a machine without one), and apt installs recommends by default.
set(CPACK_PACKAGE_NAME r1vk)
set(CPACK_PACKAGE_VENDOR "r1vk")
set(CPACK_PACKAGE_CONTACT "r1vk developers <r1vk@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli lib dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # the build is RelWithDebInfo: unstripped, the packages are ~15x larger
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME r1vk)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION science)
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "mesa-vulkan-drivers | vulkan-icd")
set(CPACK_DEBIAN_CLI_DESCRIPTION "DeepSeek-R1 family inference on any Vulkan device: the r1vk tool
r1vk compiles Hugging Face checkpoints of DeepSeek-R1, V3, V2 and the R1 distills into plans and
runs them on any Vulkan 1.2 device. Includes a small bundled demo model.")

get_target_property(r1vk_soversion r1vk_capi SOVERSION)
set(CPACK_DEBIAN_LIB_PACKAGE_NAME libr1vk${r1vk_soversion})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIB_PACKAGE_RECOMMENDS "mesa-vulkan-drivers | vulkan-icd")
set(CPACK_DEBIAN_LIB_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_LIB_DESCRIPTION "DeepSeek-R1 family inference on any Vulkan device: the C API runtime
libr1vk.so, the shared library behind include/r1vk/r1vk.h.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libr1vk-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_DEBIAN_DEV_DESCRIPTION "DeepSeek-R1 family inference on any Vulkan device: C API development files
The header r1vk/r1vk.h, the CMake package (find_package(r1vk CONFIG), target r1vk::r1vk), the
pkg-config file r1vk.pc, the C API guide and an example program.")

include(CPack)
