# The `openamp` module (see micropython.mk beside this file for make ports).
set(OMPY_ROOT ${CMAKE_CURRENT_LIST_DIR}/../../..)
if(NOT DEFINED AMP_BUILD)
    set(AMP_BUILD ${OMPY_ROOT}/build)
endif()
if(NOT EXISTS ${AMP_BUILD}/lib/libamp-mpy.a)
    message(FATAL_ERROR "openamp: ${AMP_BUILD}/lib/libamp-mpy.a is missing: run make in ${OMPY_ROOT} first, or set AMP_BUILD")
endif()

add_library(usermod_openamp INTERFACE)
target_sources(usermod_openamp INTERFACE ${CMAKE_CURRENT_LIST_DIR}/modopenamp.c)
target_include_directories(usermod_openamp INTERFACE
    ${OMPY_ROOT}/include
    ${OMPY_ROOT}/bindings/common
    ${OMPY_ROOT}/bindings/micropython
)
target_link_libraries(usermod_openamp INTERFACE
    ${AMP_BUILD}/lib/libamp-mpy.a
    ${AMP_BUILD}/lib/libamp-sim.a
    ${AMP_BUILD}/lib/libamp.a
    pthread
)
target_link_libraries(usermod INTERFACE usermod_openamp)
