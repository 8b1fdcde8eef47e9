// Period boundaries and the incrementally fed period commitment against protocol/vectors/period.json.
#include <gtest/gtest.h>

#include "json.h"
#include "zkmeter.h"

using namespace zkmtest;

TEST(Period, EndsMatchTheVirtualMeter) {
  Json v = loadVectors("period.json");
  for (const Json &c : v["ends"].items) {
    zkm::PeriodGeometry g = {(uint32_t)c["intervalSeconds"].u64(), (uint32_t)c["n"].u64()};
    EXPECT_EQ(zkm::periodEndFor(c["start"].u64(), (uint8_t)c["days"].u64(), g), c["end"].u64())
        << "start " << c["start"].u64() << " days " << c["days"].u64() << " n " << g.n;
  }
}

TEST(Period, RescheduleMatchesTheVirtualMeter) {
  Json v = loadVectors("period.json");
  for (const Json &c : v["reschedules"].items) {
    zkm::PeriodGeometry g = {(uint32_t)c["intervalSeconds"].u64(), (uint32_t)c["n"].u64()};
    zkm::PeriodTracker p(g);
    uint8_t salt[32] = {0};
    ASSERT_TRUE(p.begin(c["start"].u64(), 0, 0, salt, 0));
    ASSERT_TRUE(p.reschedule((uint8_t)c["days"].u64(), c["now"].u64()));
    EXPECT_EQ(p.periodEnd(), c["end"].u64());
  }
}

TEST(Period, RejectsOutOfRangeDaysAndOffBoundaryStarts) {
  zkm::PeriodGeometry g = {900, 288};
  EXPECT_EQ(zkm::periodEndFor(900, 4, g), 0u);
  EXPECT_EQ(zkm::periodEndFor(901, 1, g), 0u);
}

// The committed reading is range-checked to 15 bits in the circuit (docs/protocol.md §1): the
// tracker refuses a reading above READING_MAX rather than commit one no proof can be made for.
TEST(Period, RejectsAReadingBeyondThe15BitRange) {
  zkm::PeriodGeometry g = {900, 288};
  zkm::PeriodTracker p(g);
  uint8_t salt[32] = {0};
  ASSERT_TRUE(p.begin(1764000000, 0, 0, salt, 1));
  EXPECT_FALSE(p.onInterval(1764000900, zkm::READING_MAX + 1, 0));
  EXPECT_FALSE(p.onInterval(1764000900, 32768, 0));
  EXPECT_FALSE(p.onInterval(1764000900, 0, zkm::READING_MAX + 1));
  // Import and export together cannot exceed what the line carries in one interval.
  EXPECT_FALSE(p.onInterval(1764000900, 20000, 12768));
  EXPECT_TRUE(p.onInterval(1764000900, 20000, 12767));
  EXPECT_EQ(p.counter(), 20000u);
  EXPECT_EQ(p.exportCounter(), 12767u);
}

TEST(Period, IncrementalFeedMatchesTheWholeArrayCommitment) {
  Json v = loadVectors("period.json");
  const Json &f = v["feed"];
  zkm::PeriodGeometry g = {(uint32_t)f["intervalSeconds"].u64(), (uint32_t)f["n"].u64()};
  zkm::PeriodTracker p(g);
  std::vector<uint8_t> salt = hexTo32(f["salt"].str());
  ASSERT_TRUE(p.begin(f["start"].u64(), f["startCounter"].u64(), 0, salt.data(), (uint8_t)f["days"].u64()));
  EXPECT_EQ(p.periodEnd(), f["periodEnd"].u64());
  for (const Json &i : f["intervals"].items) {
    EXPECT_FALSE(p.complete());
    ASSERT_TRUE(p.onInterval(i["time"].u64(), (uint32_t)i["intervalWh"].u64(), 0));
  }
  EXPECT_TRUE(p.complete());
  EXPECT_EQ(p.counter(), f["endCounter"].u64());
  EXPECT_FALSE(p.onInterval(f["periodEnd"].u64() + 900, 1, 0));  // beyond the period
  uint8_t meter[20];
  memset(meter, 0xAB, sizeof(meter));
  zkm::BillingPeriod out;
  ASSERT_TRUE(p.close(meter, out));
  EXPECT_EQ(out.periodStart, f["start"].u64());
  EXPECT_EQ(out.periodEnd, f["periodEnd"].u64());
  EXPECT_EQ(out.endCounter, f["endCounter"].u64());
  EXPECT_EQ("0x" + toHex(out.commitment, 32), f["commitment"].str());
}
