#include <gtest/gtest.h>

#include "base/redact.hpp"

namespace sg {
namespace {

TEST(Redact, HidesThePasswordOfAUrl) {
  EXPECT_EQ(redact_secrets("rtsp://admin:secret@10.0.0.5:554/stream1"), "rtsp://admin:***@10.0.0.5:554/stream1");
}

TEST(Redact, PasswordWithAtSignsIsHiddenWhole) {
  EXPECT_EQ(redact_secrets("rtsp://admin:p@ss@host/x"), "rtsp://admin:***@host/x");
  EXPECT_EQ(redact_secrets("rtsp://admin:p@s@s@host"), "rtsp://admin:***@host");
}

TEST(Redact, UserWithoutPasswordAndUrlsWithoutUserInfoAreUnchanged) {
  EXPECT_EQ(redact_secrets("rtsp://admin@host/x"), "rtsp://admin@host/x");
  EXPECT_EQ(redact_secrets("rtsp://host/a@b"), "rtsp://host/a@b");  // '@' after the authority is path
  EXPECT_EQ(redact_secrets("publisher"), "publisher");
  EXPECT_EQ(redact_secrets(""), "");
}

TEST(Redact, EveryUrlInACommandLineOrMessage) {
  EXPECT_EQ(redact_secrets("exec:ffmpeg -i rtsp://cam:ex3c@10.0.0.9/live -f rtsp rtsp://pub:pw@127.0.0.1:8554/x"),
            "exec:ffmpeg -i rtsp://cam:***@10.0.0.9/live -f rtsp rtsp://pub:***@127.0.0.1:8554/x");
  EXPECT_EQ(redact_secrets("[rtsp @ 0x5] method DESCRIBE failed: 'rtsp://u:k3y@h:1/none': Connection refused"),
            "[rtsp @ 0x5] method DESCRIBE failed: 'rtsp://u:***@h:1/none': Connection refused");
}

TEST(Redact, CredentialQueryParametersAreHidden) {
  EXPECT_EQ(redact_secrets("http://h/x/index.m3u8?jwt=eyJ.abc.def&foo=1"), "http://h/x/index.m3u8?jwt=***&foo=1");
  EXPECT_EQ(redact_secrets("rtsp://h/cam?user=a&pass=b#t"), "rtsp://h/cam?user=a&pass=***#t");
  EXPECT_EQ(redact_secrets("srt://h:8890?streamid=x&passphrase=zz"), "srt://h:8890?streamid=x&passphrase=***");
}

TEST(Redact, CredentialsInSrtStreamIdsAreHidden) {
  EXPECT_EQ(redact_secrets("srt://h:8890?streamid=read:cam:alice:s3cr:et&latency=200"),
            "srt://h:8890?streamid=read:cam:alice:***&latency=200");
  EXPECT_EQ(redact_secrets("srt://h:8890?streamid=publish:cam"), "srt://h:8890?streamid=publish:cam");
  EXPECT_EQ(redact_secrets("srt://h:8890?streamid=%23!::r=cam,u=alice,s=pw,m=request"),
            "srt://h:8890?streamid=%23!::r=cam,u=alice,s=***,m=request");
  EXPECT_EQ(redact_secrets("srt://h:8890?streamid=%23!::r=ss=x,s="), "srt://h:8890?streamid=%23!::r=ss=x,s=***");
}

TEST(Redact, OddInputDoesNotCrash) {
  for (std::string s : {"://", "a://", "://@", "x://:@", "x://a:b@", "x://?", "x://h?pass", "x://h?&&=", "::///@@"})
    EXPECT_NO_THROW(redact_secrets(s)) << s;
  EXPECT_EQ(redact_secrets("x://a:b@"), "x://a:***@");
}

}  // namespace
}  // namespace sg

namespace sg {
namespace {

TEST(RedactConfig, HidesValuesOfSecretKeysAndKeepsTheRest) {
  const std::string yaml =
      "server:\n"
      "  http: 0.0.0.0:8080\n"
      "auth:\n"
      "  internal_users:\n"
      "    - user: admin\n"
      "      pass: hunter2\n"
      "    - pass: \"s3cret\"\n"
      "  api_token: abc\n"
      "# pass: not a key, a comment\n"
      "streams:\n"
      "  cam: rtsp://admin:pw@10.0.0.5/x\n";
  const std::string out = redact_config_text(yaml);
  EXPECT_EQ(out,
            "server:\n"
            "  http: 0.0.0.0:8080\n"
            "auth:\n"
            "  internal_users:\n"
            "    - user: admin\n"
            "      pass: \"***\"\n"
            "    - pass: \"***\"\n"
            "  api_token: \"***\"\n"
            "# pass: not a key, a comment\n"
            "streams:\n"
            "  cam: rtsp://admin:***@10.0.0.5/x\n");
  EXPECT_EQ(out.find("hunter2"), std::string::npos);
  EXPECT_EQ(out.find("s3cret"), std::string::npos);
}

TEST(RedactConfig, KeysThatOnlyContainASecretWordAreKept) {
  EXPECT_EQ(redact_config_text("passthrough: true\nkeyframe_interval: 2"), "passthrough: true\nkeyframe_interval: 2");
  EXPECT_EQ(redact_config_text("pass:"), "pass:");  // a mapping follows: nothing to hide on this line
}

}  // namespace
}  // namespace sg
