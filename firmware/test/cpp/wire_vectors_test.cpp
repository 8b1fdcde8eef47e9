// Serial link, MQTT commands and Modbus frames against protocol/vectors/.
#include <gtest/gtest.h>

#include "json.h"
#include "zkmeter.h"

using namespace zkmtest;

TEST(Link, EncodesEveryVectorFrame) {
  Json v = loadVectors("link.json");
  for (const Json &f : v["frames"].items) {
    std::vector<uint8_t> payload = fromHex(f["payload"].str());
    uint8_t out[zkm::LINK_MAX_FRAME];
    uint8_t n = zkm::linkEncode((uint8_t)f["type"].u64(), payload.data(), (uint8_t)payload.size(), out);
    EXPECT_EQ(toHex(out, n), f["frame"].str()) << f["name"].str();
  }
}

TEST(Link, MeasurementPayloadRoundTrips) {
  Json v = loadVectors("link.json");
  for (const Json &f : v["frames"].items) {
    if (!f.has("measurement")) continue;
    const Json &m = f["measurement"];
    zkm::Measurement x;
    x.energyWh = m["energyWh"].u64();
    x.powerW = (uint32_t)m["powerW"].u64();
    x.voltageMv = (uint32_t)m["voltageMv"].u64();
    x.currentMa = (uint32_t)m["currentMa"].u64();
    x.powerFactor = (uint16_t)m["powerFactor"].u64();
    x.temperatureCenti = (int32_t)m["temperatureCenti"].i64();
    x.light = (uint16_t)m["light"].u64();
    x.gas = (uint16_t)m["gas"].u64();
    x.water = (uint16_t)m["water"].u64();
    x.hazards = (uint8_t)m["hazards"].u64();
    x.relays = (uint8_t)m["relays"].u64();
    x.fanSpeed = (uint8_t)m["fanSpeed"].u64();
    x.source = (uint8_t)m["source"].u64();
    x.exportedWh = m["exportedWh"].u64();
    uint8_t out[zkm::MEASUREMENT_SIZE];
    zkm::measurementEncode(x, out);
    EXPECT_EQ(toHex(out, sizeof(out)), f["payload"].str());
    zkm::Measurement back;
    ASSERT_TRUE(zkm::measurementDecode(out, sizeof(out), back));
    EXPECT_EQ(back.energyWh, x.energyWh);
    EXPECT_EQ(back.exportedWh, x.exportedWh);
    EXPECT_EQ(back.temperatureCenti, x.temperatureCenti);
    EXPECT_EQ(back.relays, x.relays);
  }
}

TEST(Link, DecoderRecoversTheSameFramesFromANoisyStream) {
  Json v = loadVectors("link.json");
  std::vector<uint8_t> stream = fromHex(v["stream"]["bytes"].str());
  zkm::LinkDecoder d;
  std::vector<std::pair<uint8_t, std::string>> got;
  for (uint8_t b : stream) {
    if (d.push(b)) got.push_back({d.type(), toHex(d.payload(), d.length())});
  }
  while (d.idle()) got.push_back({d.type(), toHex(d.payload(), d.length())});  // the line goes quiet
  const Json &want = v["stream"]["frames"];
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i].first, want[i]["type"].u64());
    EXPECT_EQ(got[i].second, want[i]["payload"].str());
  }
  EXPECT_GT(d.errors(), 0u);
}

TEST(Link, RejectsOversizedPayload) {
  uint8_t payload[zkm::LINK_MAX_PAYLOAD + 1] = {0};
  uint8_t out[zkm::LINK_MAX_FRAME + 1];
  EXPECT_EQ(zkm::linkEncode(1, payload, sizeof(payload), out), 0);
}

TEST(Mqtt, MeterNameAndResults) {
  Json v = loadVectors("mqtt.json");
  std::vector<uint8_t> addr = fromHex(v["address"].str());
  char name[zkm::METER_NAME_LEN + 1];
  zkm::meterName(addr.data(), name);
  EXPECT_EQ(std::string(name), v["meterName"].str());
  char buf[64];
  for (const Json &r : v["results"].items) {
    size_t n = r.has("relay") ? zkm::buildPowerResultJson((uint8_t)r["relay"].u64(), r["on"].boolean, buf, sizeof(buf))
                              : zkm::buildFanResultJson((uint8_t)r["fanSpeed"].u64(), buf, sizeof(buf));
    EXPECT_EQ(std::string(buf, n), r["json"].str());
  }
}

TEST(Mqtt, ParsesCommandsAsSpecified) {
  Json v = loadVectors("mqtt.json");
  std::string meter = v["meterName"].str();
  for (const Json &c : v["commands"].items) {
    const std::string &payload = c["payload"].str();
    zkm::Command cmd = zkm::parseCommand(c["topic"].str().c_str(), meter.c_str(), (const uint8_t *)payload.data(), payload.size());
    const Json &e = c["expect"];
    std::string kind = e["kind"].str();
    std::string label = c["topic"].str() + " " + payload;
    if (kind == "invalid") {
      EXPECT_EQ(cmd.kind, zkm::CMD_INVALID) << label;
    } else if (kind == "power") {
      ASSERT_EQ(cmd.kind, zkm::CMD_POWER) << label;
      EXPECT_EQ(cmd.relay, e["relay"].u64());
      EXPECT_EQ(cmd.action, e["action"].u64());
    } else if (kind == "fanSpeed") {
      ASSERT_EQ(cmd.kind, zkm::CMD_FAN_SPEED) << label;
      EXPECT_EQ(cmd.value, e["value"].u64());
    } else if (kind == "periodDays") {
      ASSERT_EQ(cmd.kind, zkm::CMD_PERIOD_DAYS) << label;
      EXPECT_EQ(cmd.value, e["value"].u64());
    } else if (kind == "resend") {
      ASSERT_EQ(cmd.kind, zkm::CMD_RESEND) << label;
      EXPECT_EQ(cmd.from, e["from"].u64());
      EXPECT_EQ(cmd.to, e["to"].u64());
    } else if (kind == "resendPeriod") {
      ASSERT_EQ(cmd.kind, zkm::CMD_RESEND_PERIOD) << label;
      EXPECT_EQ(cmd.from, e["periodStart"].u64());
    } else {
      FAIL() << "unknown kind " << kind;
    }
  }
}

TEST(Modbus, CrcRequestsAndResponses) {
  Json v = loadVectors("modbus.json");
  for (const Json &c : v["crc"].items) {
    std::vector<uint8_t> data = fromHex(c["data"].str());
    EXPECT_EQ(zkm::crc16(data.data(), data.size()), c["crc"].u64());
  }
  for (const Json &r : v["requests"].items) {
    uint8_t read[zkm::PZEM_REQUEST_LEN], reset[4];
    zkm::pzemReadRequest((uint8_t)r["address"].u64(), read);
    zkm::pzemResetRequest((uint8_t)r["address"].u64(), reset);
    EXPECT_EQ(toHex(read, sizeof(read)), r["read"].str());
    EXPECT_EQ(toHex(reset, sizeof(reset)), r["reset"].str());
  }
  for (const Json &r : v["responses"].items) {
    std::vector<uint8_t> frame = fromHex(r["frame"].str());
    zkm::PzemReading got;
    ASSERT_EQ(zkm::pzemParseResponse(zkm::PZEM_DEFAULT_ADDRESS, frame.data(), (uint8_t)frame.size(), got), zkm::PZEM_OK);
    const Json &w = r["reading"];
    EXPECT_EQ(got.voltageMv, w["voltageMv"].u64());
    EXPECT_EQ(got.currentMa, w["currentMa"].u64());
    EXPECT_EQ(got.powerDeciW, w["powerDeciW"].u64());
    EXPECT_EQ(got.energyWh, w["energyWh"].u64());
    EXPECT_EQ(got.frequencyDeciHz, w["frequencyDeciHz"].u64());
    EXPECT_EQ(got.powerFactorPermille, w["powerFactorPermille"].u64());
    EXPECT_EQ(got.alarm, w["alarm"].u64());
    // Any single flipped bit is caught by the CRC.
    for (size_t i = 0; i < frame.size(); i++) {
      std::vector<uint8_t> bad = frame;
      bad[i] ^= 0x10;
      EXPECT_NE(zkm::pzemParseResponse(zkm::PZEM_DEFAULT_ADDRESS, bad.data(), (uint8_t)bad.size(), got), zkm::PZEM_OK);
    }
    EXPECT_EQ(zkm::pzemParseResponse(zkm::PZEM_DEFAULT_ADDRESS, frame.data(), (uint8_t)(frame.size() - 1), got), zkm::PZEM_SHORT);
  }
}

TEST(Modbus, ExceptionResponse) {
  uint8_t frame[5] = {0xF8, 0x84, 0x02, 0, 0};
  uint16_t crc = zkm::crc16(frame, 3);
  frame[3] = (uint8_t)crc;
  frame[4] = (uint8_t)(crc >> 8);
  zkm::PzemReading r;
  EXPECT_EQ(zkm::pzemParseResponse(0xF8, frame, 5, r), zkm::PZEM_EXCEPTION);
}

TEST(Mqtt, StatePayload) {
  Json v = loadVectors("mqtt.json");
  char buf[512];
  for (const Json &s : v["state"].items) {
    size_t n = zkm::buildStateJson(s["time"].u64(), (uint32_t)s["uptime"].u64(), (uint8_t)s["relays"].u64(),
                                   (uint8_t)s["fanSpeed"].u64(), s["periodStart"].u64(), (uint8_t)s["periodDays"].u64(),
                                   buf, sizeof(buf));
    EXPECT_EQ(std::string(buf, n), s["json"].str());
  }
}

TEST(Link, IdleReleasesAFrameHeldBehindAFalseStart) {
  // A corrupted frame whose CRC low byte is 0x7E, then a good empty frame: the 0x7E starts a
  // false frame of length 0x22 that swallows the good one until the line goes quiet.
  std::vector<uint8_t> stream = fromHex("7e05013279d493847e22" "7e000001b0");
  zkm::LinkDecoder d;
  for (uint8_t b : stream) EXPECT_FALSE(d.push(b));
  ASSERT_TRUE(d.idle());
  EXPECT_EQ(d.type(), 0);
  EXPECT_EQ(d.length(), 0);
  EXPECT_FALSE(d.idle());
}
