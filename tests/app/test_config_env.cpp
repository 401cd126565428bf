// The environment in the config: ${VAR} / ${VAR:-default} in values, STREAMGATE_* key overrides, their errors.
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace sg::app {
namespace {

TEST(ConfigEnv, ExpandsVariablesAndDefaults) {
  Environment env{{"POD_IP", "10.1.2.3"}, {"EMPTY", ""}};
  EXPECT_EQ(*expand_variables("${POD_IP}", env), "10.1.2.3");
  EXPECT_EQ(*expand_variables("a-${POD_IP}-b", env), "a-10.1.2.3-b");
  EXPECT_EQ(*expand_variables("${NOPE:-8080}", env), "8080");
  EXPECT_EQ(*expand_variables("${EMPTY:-x}", env), "x");
  EXPECT_EQ(*expand_variables("${NOPE:-}", env), "");
  EXPECT_EQ(*expand_variables("$${POD_IP} $STREAM", env), "${POD_IP} $STREAM");
}

TEST(ConfigEnv, UnsetVariableWithoutDefaultIsAnError) {
  auto r = expand_variables("${NOPE}", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("'NOPE' is not set"), std::string::npos) << r.error();
  EXPECT_FALSE(expand_variables("${UNTERMINATED", {}));
  EXPECT_FALSE(expand_variables("${bad-name}", {}));
}

TEST(ConfigEnv, VariablesWorkInAnyValueOfTheFile) {
  Environment env{{"POD_IP", "10.1.2.3"}, {"HTTP_PORT", "9090"}};
  auto c = parse_config(R"(
server:
  http: "0.0.0.0:${HTTP_PORT:-8080}"
workers: ${WORKERS:-3}
webrtc:
  additional_hosts: ["${POD_IP}"]
)", "k8s.yaml", env);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->http.port, 9090);
  EXPECT_EQ(c->workers, 3u);
  ASSERT_EQ(c->webrtc.additional_hosts.size(), 1u);
  EXPECT_EQ(c->webrtc.additional_hosts[0], "10.1.2.3");
}

TEST(ConfigEnv, UnsetVariableNamesFileAndLine) {
  auto c = parse_config("log:\n  level: info\nwebrtc:\n  additional_hosts: [\"${POD_IP}\"]\n", "k8s.yaml", {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().rfind("k8s.yaml:4: environment variable 'POD_IP' is not set", 0), 0u) << c.error();
}

TEST(ConfigEnv, ExpandedValueIsStillValidatedWithItsLine) {
  auto c = parse_config("workers: 1\nwebrtc:\n  additional_hosts: [\"${POD_IP}\"]\n", "k8s.yaml",
                        {{"POD_IP", "not-an-ip"}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().rfind("k8s.yaml:3:", 0), 0u) << c.error();
  EXPECT_NE(c.error().find("'not-an-ip' is not an IP address"), std::string::npos) << c.error();
}

TEST(ConfigEnv, OverrideSetsOneKeyAndWinsOverTheFile) {
  Environment env{{"STREAMGATE_LOG__LEVEL", "debug"},
                  {"STREAMGATE_SERVER__WEBRTC_UDP", "0.0.0.0:9999"},
                  {"STREAMGATE_WEBRTC__ADDITIONAL_HOSTS", "[10.0.0.7, 10.0.0.8]"},
                  {"OTHER", "ignored"}};
  auto c = parse_config("log:\n  level: warn\n  format: text\n", "f.yaml", env);
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->log_format, "text");  // the rest of the section stays
  EXPECT_EQ(c->webrtc_udp.port, 9999);
  EXPECT_EQ(c->webrtc.additional_hosts.size(), 2u);
}

TEST(ConfigEnv, OverrideWorksWithoutAFile) {
  auto c = parse_config("", "", {{"STREAMGATE_WORKERS", "2"}, {"STREAMGATE_STREAMS__CAM1__SOURCE", "publisher"}});
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->workers, 2u);
  ASSERT_EQ(c->streams.size(), 1u);
  EXPECT_EQ(c->streams[0].id, "cam1");
}

TEST(ConfigEnv, BadOverrideNamesTheVariable) {
  auto c = parse_config("", "", {{"STREAMGATE_WORKERS", "many"}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().rfind("environment STREAMGATE_WORKERS: 'workers' must be an integer", 0), 0u) << c.error();
  auto k = parse_config("", "", {{"STREAMGATE_SERVER__HTPP", ":80"}});
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().rfind("environment STREAMGATE_SERVER__HTPP: unknown key 'htpp'", 0), 0u) << k.error();
  auto s = parse_config("workers: 1\n", "f.yaml", {{"STREAMGATE_WORKERS__X", "1"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("STREAMGATE_WORKERS__X"), std::string::npos) << s.error();
}

TEST(ConfigEnv, OverrideIntoAFileThatIsNotAMappingIsAnError) {
  auto c = parse_config("- a\n- b\n", "list.yaml", {{"STREAMGATE_WORKERS", "2"}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().rfind("environment STREAMGATE_WORKERS: the config file is not a mapping", 0), 0u) << c.error();
}

// Reload compares setting texts: they must be the values after the environment, or an unchanged file whose values
// come from variables would read as changed (or as missing) on every reload.
TEST(ConfigEnv, SettingTextsAreTheValuesAfterTheEnvironment) {
  auto c = parse_config("log: { level: '${LEVEL}' }\n", "f.yaml",
                        {{"LEVEL", "debug"}, {"STREAMGATE_WORKERS", "2"}});
  ASSERT_TRUE(c) << c.error();
  ASSERT_TRUE(c->setting_texts.contains("log.level"));
  EXPECT_EQ(c->setting_texts.at("log.level"), "debug");
  ASSERT_TRUE(c->setting_texts.contains("workers"));
  EXPECT_EQ(c->setting_texts.at("workers"), "2");
}

}  // namespace
}  // namespace sg::app
