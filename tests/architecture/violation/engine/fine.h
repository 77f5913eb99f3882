// An engine header that includes a kernel header, as the engine may (the layering check's self-test).
#pragma once
#include "kernels/bad.h"
