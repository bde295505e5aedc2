# MicroPython user C module `openamp` for CMake-built ports:
#   make -C /path/to/amp
#   make -C ports/<port> USER_C_MODULES=/path/to/amp/bindings/micropython/micropython.cmake
# It links the same libraries as openamp/micropython.mk (see docs/micropython.md).
include(${CMAKE_CURRENT_LIST_DIR}/openamp/micropython.cmake)
