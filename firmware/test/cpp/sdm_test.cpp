// The bidirectional metering source (zkm_sdm, zkm_source) against protocol/vectors/sdm.json, which
// protocol/serial/sdm.ts (the simulated SDM) generates: requests, answers, the integers read from
// float registers, refused answers, and both counters fed behind the same interface as the PZEM.
#include <gtest/gtest.h>

#include <cstring>

#include "json.h"
#include "zkmeter.h"

using namespace zkmtest;

namespace {

uint32_t floatBits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

// An answer frame with a fresh CRC after its bytes were changed.
void recrc(std::vector<uint8_t> &frame) {
  uint16_t crc = zkm::crc16(frame.data(), frame.size() - 2);
  frame[frame.size() - 2] = (uint8_t)crc;
  frame[frame.size() - 1] = (uint8_t)(crc >> 8);
}

}  // namespace

TEST(Sdm, RequestsMatchTheVectors) {
  Json v = loadVectors("sdm.json");
  for (const Json &r : v["requests"].items) {
    uint8_t out[zkm::SDM_REQUEST_LEN];
    zkm::sdmReadRequest((uint8_t)r["address"].u64(), zkm::SDM_INSTANT_FIRST, zkm::SDM_INSTANT_COUNT, out);
    EXPECT_EQ(toHex(out, sizeof(out)), r["instant"].str());
    zkm::sdmReadRequest((uint8_t)r["address"].u64(), zkm::SDM_ENERGY_FIRST, zkm::SDM_ENERGY_COUNT, out);
    EXPECT_EQ(toHex(out, sizeof(out)), r["energy"].str());
  }
}

TEST(Sdm, ReadsEveryVectorAnswerAsTheSimulatorSays) {
  Json v = loadVectors("sdm.json");
  ASSERT_GE(v["responses"].size(), 10u);
  for (const Json &r : v["responses"].items) {
    std::vector<uint8_t> instant = fromHex(r["instant"].str());
    std::vector<uint8_t> energy = fromHex(r["energy"].str());
    zkm::SdmInstant i;
    zkm::SdmEnergy e;
    ASSERT_EQ(zkm::sdmParseInstant(zkm::SDM_DEFAULT_ADDRESS, instant.data(), (uint8_t)instant.size(), i), zkm::SDM_OK);
    ASSERT_EQ(zkm::sdmParseEnergy(zkm::SDM_DEFAULT_ADDRESS, energy.data(), (uint8_t)energy.size(), e), zkm::SDM_OK);
    const Json &want = r["reading"];
    EXPECT_EQ(i.voltageMv, want["voltageMv"].u64());
    EXPECT_EQ(i.currentMa, want["currentMa"].u64());
    EXPECT_EQ(i.powerW, want["powerW"].i64());
    EXPECT_EQ(i.powerFactorPermille, want["powerFactorPermille"].u64());
    EXPECT_EQ(e.importWh, want["importWh"].u64());
    EXPECT_EQ(e.exportWh, want["exportWh"].u64());
  }
}

TEST(Sdm, RefusesShortCorruptForeignAndExceptionAnswers) {
  Json v = loadVectors("sdm.json");
  std::vector<uint8_t> energy = fromHex(v["responses"][0]["energy"].str());
  zkm::SdmEnergy e;
  EXPECT_EQ(zkm::sdmParseEnergy(1, energy.data(), (uint8_t)(energy.size() - 1), e), zkm::SDM_SHORT);
  std::vector<uint8_t> flipped = energy;
  flipped[5] ^= 0x01;
  EXPECT_EQ(zkm::sdmParseEnergy(1, flipped.data(), (uint8_t)flipped.size(), e), zkm::SDM_BAD_CRC);
  EXPECT_EQ(zkm::sdmParseEnergy(2, energy.data(), (uint8_t)energy.size(), e), zkm::SDM_BAD_HEADER);
  std::vector<uint8_t> exception = {0x01, 0x84, 0x02, 0, 0};
  recrc(exception);
  EXPECT_EQ(zkm::sdmParseEnergy(1, exception.data(), (uint8_t)exception.size(), e), zkm::SDM_EXCEPTION);
  // The instant block's answer is not an energy answer, nor the other way round.
  std::vector<uint8_t> instant = fromHex(v["responses"][0]["instant"].str());
  EXPECT_NE(zkm::sdmParseEnergy(1, instant.data(), (uint8_t)instant.size(), e), zkm::SDM_OK);
  zkm::SdmInstant i;
  EXPECT_EQ(zkm::sdmParseInstant(1, energy.data(), (uint8_t)energy.size(), i), zkm::SDM_SHORT);
}

TEST(Sdm, RefusesNaNInfiniteAndNegativeEnergy) {
  Json v = loadVectors("sdm.json");
  std::vector<uint8_t> good = fromHex(v["responses"][0]["energy"].str());
  const uint32_t bad[] = {0x7FC00000UL /* NaN */, 0x7F800000UL /* +inf */, floatBits(-1.0f), floatBits(5e6f) /* > 2^32 Wh */};
  for (uint32_t bits : bad) {
    for (int reg = 0; reg < 2; reg++) {
      std::vector<uint8_t> frame = good;
      for (int k = 0; k < 4; k++) frame[3 + 4 * reg + k] = (uint8_t)(bits >> (24 - 8 * k));
      recrc(frame);
      zkm::SdmEnergy e;
      EXPECT_EQ(zkm::sdmParseEnergy(1, frame.data(), (uint8_t)frame.size(), e), zkm::SDM_BAD_VALUE) << bits;
    }
  }
  // A negative zero is zero, not a refusal.
  std::vector<uint8_t> frame = good;
  frame[3] = 0x80;
  frame[4] = frame[5] = frame[6] = 0;
  recrc(frame);
  zkm::SdmEnergy e;
  EXPECT_EQ(zkm::sdmParseEnergy(1, frame.data(), (uint8_t)frame.size(), e), zkm::SDM_OK);
  EXPECT_EQ(e.importWh, 0u);
}

TEST(Sdm, ScalesFloatsExactlyWithIntegersOnly) {
  int64_t out;
  ASSERT_TRUE(zkm::floatBitsScaled(floatBits(1.5f), 1000, out));
  EXPECT_EQ(out, 1500);
  ASSERT_TRUE(zkm::floatBitsScaled(floatBits(-2.5f), 1, out));
  EXPECT_EQ(out, -3);  // half away from zero
  ASSERT_TRUE(zkm::floatBitsScaled(floatBits(16777216.0f), 1000, out));
  EXPECT_EQ(out, 16777216000LL);
  ASSERT_TRUE(zkm::floatBitsScaled(1u, 1000, out));  // the smallest subnormal
  EXPECT_EQ(out, 0);
  EXPECT_FALSE(zkm::floatBitsScaled(floatBits(3e38f), 1000, out));  // beyond 2^62
  for (uint32_t k = 0; k < 100000; k += 7) {
    float f = (float)k / 1000.0f;
    ASSERT_TRUE(zkm::floatBitsScaled(floatBits(f), 1000, out));
    EXPECT_EQ(out, (int64_t)((double)f * 1000.0 + 0.5)) << k;
  }
}

TEST(MeteringSource, SdmReadsInTwoStepsAndFeedsBothCounters) {
  Json v = loadVectors("sdm.json");
  zkm::SdmSource sdm;
  zkm::MeteringSource &source = sdm;  // the loop sees only the interface
  zkm::BidirectionalEnergy energy;
  uint8_t req[8];
  zkm::SourceReading r;
  uint32_t imported = 0, exported = 0;
  for (size_t n = 0; n < 2; n++) {
    const Json &resp = v["responses"][n];
    ASSERT_EQ(source.request(req), zkm::SDM_REQUEST_LEN);
    EXPECT_EQ(toHex(req, 8), v["requests"][0]["instant"].str());
    std::vector<uint8_t> instant = fromHex(resp["instant"].str());
    ASSERT_EQ(source.answer(instant.data(), (uint8_t)instant.size(), r), zkm::SOURCE_PENDING);
    source.request(req);
    EXPECT_EQ(toHex(req, 8), v["requests"][0]["energy"].str());
    std::vector<uint8_t> answer = fromHex(resp["energy"].str());
    ASSERT_EQ(source.answer(answer.data(), (uint8_t)answer.size(), r), zkm::SOURCE_READY);
    EXPECT_EQ(r.measureSource, zkm::MEASURE_BIDIRECTIONAL);
    EXPECT_EQ(r.exporting, resp["reading"]["powerW"].i64() < 0);
    EXPECT_EQ(r.powerW, (uint32_t)llabs(resp["reading"]["powerW"].i64()));
    // An hour between the two readings: the steps (16 kWh in, 6 kWh out) are possible in it.
    energy.feed(r, 3600 * 1000UL, imported, exported);
  }
  // The first reading sets the baselines; the second adds each register's own step.
  const Json &a = v["responses"][0]["reading"];
  const Json &b = v["responses"][1]["reading"];
  EXPECT_EQ(imported, b["importWh"].u64() - a["importWh"].u64());
  EXPECT_EQ(exported, b["exportWh"].u64() - a["exportWh"].u64());
  EXPECT_EQ(energy.imported.totalWh(), imported);
  EXPECT_EQ(energy.exported.totalWh(), exported);
}

TEST(MeteringSource, ABadAnswerStartsThePollOverAndCountsNothing) {
  Json v = loadVectors("sdm.json");
  zkm::SdmSource source;
  zkm::SourceReading r;
  uint8_t req[8];
  std::vector<uint8_t> instant = fromHex(v["responses"][0]["instant"].str());
  std::vector<uint8_t> energy = fromHex(v["responses"][0]["energy"].str());
  source.request(req);
  ASSERT_EQ(source.answer(instant.data(), (uint8_t)instant.size(), r), zkm::SOURCE_PENDING);
  source.request(req);
  energy[4] ^= 0x10;  // corrupted on the line
  EXPECT_EQ(source.answer(energy.data(), (uint8_t)energy.size(), r), zkm::SOURCE_ERROR);
  source.request(req);
  EXPECT_EQ(toHex(req, 8), v["requests"][0]["instant"].str());
}

TEST(MeteringSource, ExportRegisterNeverInflatesTheCounter) {
  zkm::BidirectionalEnergy energy;
  zkm::SourceReading r;
  memset(&r, 0, sizeof(r));
  r.measureSource = zkm::MEASURE_BIDIRECTIONAL;
  uint32_t imported, exported;
  r.importRegisterWh = 5000;
  r.exportRegisterWh = 7000;
  energy.feed(r, 1000, imported, exported);  // baseline
  r.exportRegisterWh = 7005;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(exported, 5u);
  // A register that goes back (a reset or a replaced meter) re-baselines, adds nothing.
  r.exportRegisterWh = 100;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(exported, 0u);
  r.exportRegisterWh = 103;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(exported, 3u);
  // More than 26 kW for a second allows is refused (a corrupt read), and the next step counts again.
  r.exportRegisterWh = 103 + 50;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(exported, 0u);
  r.exportRegisterWh = 153 + 2;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(exported, 2u);
  EXPECT_EQ(energy.exported.totalWh(), 10u);
  EXPECT_EQ(energy.imported.totalWh(), 0u);
}

TEST(MeteringSource, ThePzemBehindTheSameInterfaceIsImportOnly) {
  Json v = loadVectors("modbus.json");
  zkm::PzemSource pzem;
  zkm::MeteringSource &source = pzem;
  uint8_t req[8];
  ASSERT_EQ(source.request(req), zkm::PZEM_REQUEST_LEN);
  EXPECT_EQ(toHex(req, 8), v["requests"][0]["read"].str());
  std::vector<uint8_t> frame = fromHex(v["responses"][0]["frame"].str());
  zkm::SourceReading r;
  ASSERT_EQ(source.answer(frame.data(), (uint8_t)frame.size(), r), zkm::SOURCE_READY);
  EXPECT_EQ(r.measureSource, zkm::MEASURE_PZEM);
  EXPECT_FALSE(r.exporting);
  EXPECT_EQ(r.importRegisterWh, v["responses"][0]["reading"]["energyWh"].u64());
  EXPECT_EQ(r.registerModulus, zkm::PZEM_ENERGY_MODULUS);
  zkm::BidirectionalEnergy energy;
  uint32_t imported, exported;
  energy.feed(r, 1000, imported, exported);
  r.importRegisterWh += 3;
  energy.feed(r, 1000, imported, exported);
  EXPECT_EQ(imported, 3u);
  EXPECT_EQ(exported, 0u);
  EXPECT_EQ(energy.exported.totalWh(), 0u);
}
