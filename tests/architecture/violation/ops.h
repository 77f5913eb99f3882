// An op map with a family whose pieces do not exist: the op-map check must reject it.
//   gone        kernels/gone.* engine/ops_gone.cpp tests/ops/test_gone.cpp
#pragma once
