// Precompiled header for torch translation units of the core: only what nearly every one needs.
#pragma once
#include <torch/types.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/functional.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <string>
#include <vector>
#include <memory>
