// Catch2 v2 entry point of test_io, the data-path tests (no engine, so no CPU kernel path to name).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
