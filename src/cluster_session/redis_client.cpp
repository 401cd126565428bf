#include "cluster_session/redis_client.hpp"

#include <hiredis/hiredis.h>

namespace sg::cluster_session {

namespace {
Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:  // hiredis 0.14 (Debian 12) speaks RESP2 only: no maps, sets or doubles
      out.type = Reply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

std::string context_error(redisContext* c, std::string_view what) {
  std::string e(what);
  if (c && c->err) {
    e += ": ";
    e += c->errstr;
  }
  return e;
}
}  // namespace

Result<std::unique_ptr<RedisClient>> RedisClient::connect(const cluster::RedisUrl& url,
                                                          std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  redisContext* c = redisConnectWithTimeout(url.host.c_str(), url.port, tv);
  if (!c) return Error{"redis: out of memory"};
  std::unique_ptr<RedisClient> client(new RedisClient(c));
  if (c->err) return Error{context_error(c, "redis connect to " + url.host + ":" + std::to_string(url.port))};
  if (redisSetTimeout(c, tv) != REDIS_OK) return Error{context_error(c, "redis: setting the timeout")};
  std::vector<Command> setup;
  if (!url.password.empty()) {
    if (url.user.empty()) setup.push_back({"AUTH", url.password});
    else setup.push_back({"AUTH", url.user, url.password});
  }
  if (url.db != 0) setup.push_back({"SELECT", std::to_string(url.db)});
  if (!setup.empty()) {
    auto replies = client->pipeline(setup);
    if (!replies) return Error{replies.error()};
    for (size_t i = 0; i < replies->size(); ++i)
      if ((*replies)[i].error()) return Error{"redis refused " + setup[i][0] + ": " + (*replies)[i].str};
  }
  return client;
}

RedisClient::~RedisClient() {
  if (c_) redisFree(c_);
}

Result<std::vector<Reply>> RedisClient::pipeline(const std::vector<Command>& commands) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& cmd : commands) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
      return Error{context_error(c_, "redis")};
  }
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || !raw) return Error{context_error(c_, "redis")};
    auto* r = static_cast<redisReply*>(raw);
    out.push_back(convert(r));
    freeReplyObject(r);
  }
  return out;
}

Result<Reply> RedisClient::command(const Command& command) {
  auto r = pipeline({command});
  if (!r) return Error{r.error()};
  return std::move(r->front());
}

}  // namespace sg::cluster_session
