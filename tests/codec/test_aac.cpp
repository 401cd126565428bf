#include <gtest/gtest.h>
#include "codec/aac.hpp"
