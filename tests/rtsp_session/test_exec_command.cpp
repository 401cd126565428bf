#include <gtest/gtest.h>

#include "rtsp_session/exec_source.hpp"

namespace sg::rtsp_session {
namespace {

TEST(ExecCommand, StreamAndPortVariablesAreReplaced) {
  EXPECT_EQ(expand_command("ffmpeg -i x -f rtsp rtsp://127.0.0.1:$RTSP_PORT/$STREAM", "cam1", 8555),
            "ffmpeg -i x -f rtsp rtsp://127.0.0.1:8555/cam1");
}

TEST(ExecCommand, BracedFormAndRepeatsAreReplaced) {
  EXPECT_EQ(expand_command("${STREAM}-$STREAM:${RTSP_PORT}", "a", 1), "a-a:1");
}

TEST(ExecCommand, OtherShellVariablesAreLeftToTheShell) {
  EXPECT_EQ(expand_command("echo $HOME $USER $STREAM", "s", 2), "echo $HOME $USER s");
}

TEST(ExecCommand, IdContainingTheVariableNameIsNotExpandedAgain) {
  EXPECT_EQ(expand_command("$STREAM", "$STREAM", 3), "$STREAM");
}

}  // namespace
}  // namespace sg::rtsp_session
