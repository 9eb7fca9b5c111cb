include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS torchclr EXPORT torchclrTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/torchclr DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/include/torchclr/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/torchclr)

set(TORCHCLR_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/torchclr)
install(EXPORT torchclrTargets NAMESPACE torchclr:: DESTINATION ${TORCHCLR_CMAKE_DIR})
configure_package_config_file(cmake/torchclrConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/torchclrConfig.cmake
  INSTALL_DESTINATION ${TORCHCLR_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/torchclrConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/torchclrConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/torchclrConfigVersion.cmake
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/torchclrTorchSupport.cmake
  DESTINATION ${TORCHCLR_CMAKE_DIR})
