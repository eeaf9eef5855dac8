# The version the CLI reports, and the embedded default configuration (config/development.json
# compiled into the binary, so `brokedancer run` works from any directory).
set(BROKEDANCER_GENERATED_DIR "${CMAKE_CURRENT_BINARY_DIR}/generated")
file(READ "${CMAKE_CURRENT_SOURCE_DIR}/config/development.json" BROKEDANCER_EMBEDDED_CONFIG)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             "${CMAKE_CURRENT_SOURCE_DIR}/config/development.json")
configure_file("${CMAKE_CURRENT_SOURCE_DIR}/runtime/build_info.cpp.in"
               "${BROKEDANCER_GENERATED_DIR}/build_info.cpp" @ONLY)
