#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/secret_masker.hpp"

using namespace brokedancer;

TEST_CASE("registered secrets are hidden wherever they appear") {
  secret_masker m;
  m.add_secret("hunter2");
  CHECK(m.masked("login with hunter2 failed; hunter2 again") == "login with *** failed; *** again");
}

TEST_CASE("passwords in URLs are hidden, the rest of the URL is kept") {
  secret_masker m;
  CHECK(m.masked("connect redis://:s3cret@127.0.0.1:6379/0 now")
        == "connect redis://:***@127.0.0.1:6379/0 now");
  CHECK(m.masked("redis://trader:pw@cache/1") == "redis://trader:***@cache/1");
  CHECK(m.masked("https://ghp_abcdef@github.example/x") == "https://***@github.example/x");
  CHECK(m.masked("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0");
}

TEST_CASE("values after secret-looking keys are hidden in the usual notations") {
  secret_masker m;
  CHECK(m.masked("password=abc123 user=bob") == "password=*** user=bob");
  CHECK(m.masked("BROKEDANCER_REDIS_PASSWORD=abc123") == "BROKEDANCER_REDIS_PASSWORD=***");
  CHECK(m.masked(R"({"api_key": "AKIA123", "symbol": "BTC"})")
        == R"({"api_key": "***", "symbol": "BTC"})");
  CHECK(m.masked("Authorization: Bearer eyJhbGciOi.x.y") == "Authorization: Bearer ***");
  CHECK(m.masked("token: 'abc def'") == "token: '***'");
  CHECK(m.masked("apiKey=xyz&secret=q") == "apiKey=***&secret=***");
}

TEST_CASE("ordinary text is left alone") {
  secret_masker m;
  std::string text = "order 42 filled at 101.5 for BTC-USD; tokens of appreciation";
  CHECK(m.masked(text) == text);
}

TEST_CASE("JSON fields with secret-looking keys are hidden whole") {
  secret_masker m;
  m.add_secret("k3y");
  auto fields = nlohmann::json{{"password", "pw"},
                               {"nested", {{"api_key", 12345}, {"note", "uses k3y"}}},
                               {"url", "redis://:pw@h:1/0"},
                               {"token_present", true},
                               {"secret", ""}};
  m.apply(fields);
  CHECK(fields["password"] == "***");
  CHECK(fields["nested"]["api_key"] == "***");
  CHECK(fields["nested"]["note"] == "uses ***");
  CHECK(fields["url"] == "redis://:***@h:1/0");
  CHECK(fields["token_present"] == true);
  CHECK(fields["secret"] == "");
}

TEST_CASE("an operator token is masked wherever it appears") {
  brokedancer::secret_masker masker;
  auto token = "bd1_" + std::string(64, 'a');
  auto text = masker.masked("pasted " + token + " by mistake");
  CHECK(text == "pasted bd1_*** by mistake");
  CHECK(masker.masked("bd1_short stays") == "bd1_short stays");
}
