// A kernel header that includes the engine: the layering check must reject it (tests/CMakeLists.txt).
#pragma once
#include "engine/fine.h"
