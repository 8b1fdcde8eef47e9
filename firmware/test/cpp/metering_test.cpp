// Energy counting, counter persistence and interval records.
#include <gtest/gtest.h>

#include <vector>

#include "zkmeter.h"

namespace {

// EEPROM stand-in: counts writes per byte and can cut the power in the middle of a write.
class RamStore : public zkm::NvStore {
 public:
  explicit RamStore(uint16_t size) : bytes(size, 0xFF), writes(size, 0) {}
  uint16_t size() const override { return (uint16_t)bytes.size(); }
  void read(uint16_t addr, uint8_t *out, uint16_t len) override { memcpy(out, bytes.data() + addr, len); }
  void write(uint16_t addr, const uint8_t *data, uint16_t len) override {
    uint16_t n = len;
    if (tearAfter >= 0 && tearAfter < len) n = (uint16_t)tearAfter;
    for (uint16_t i = 0; i < n; i++) {
      bytes[addr + i] = data[i];
      writes[addr + i]++;
    }
    tearAfter = -1;
  }
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> writes;
  int tearAfter = -1;  // next write stops after this many bytes (power cut)
};

}  // namespace

TEST(EnergyCounter, FollowsThePzemAcrossItsWrapAt9999_99kWh) {
  zkm::EnergyCounter c;
  c.feedPzem(9999990, 1000);  // baseline
  EXPECT_EQ(c.totalWh(), 0u);
  EXPECT_EQ(c.feedPzem(9999999, 60000), 9u);
  EXPECT_EQ(c.feedPzem(5, 60000), 6u);  // 9999999 -> 0 -> 5
  EXPECT_EQ(c.totalWh(), 15u);
}

TEST(EnergyCounter, ALongRunPastSeveralWrapsIsExact) {
  zkm::EnergyCounter c;
  uint64_t truth = 0;
  uint32_t raw = 9000000;
  c.feedPzem(raw, 0);
  for (int i = 0; i < 20000; i++) {
    uint32_t step = 1500 + (uint32_t)(i % 7) * 100;  // ~2 kWh per 5 minutes, well within 26 kW
    raw = (raw + step) % zkm::PZEM_ENERGY_MODULUS;
    truth += step;
    c.feedPzem(raw, 300000);
  }
  EXPECT_EQ(c.totalWh(), truth);
  EXPECT_GT(truth, 3ull * zkm::PZEM_ENERGY_MODULUS);  // the 64-bit counter went past several wraps
}

TEST(EnergyCounter, ImplausibleStepsNeverInflate) {
  zkm::EnergyCounter c;
  c.feedPzem(1000, 0);
  c.feedPzem(1010, 60000);
  // The module was reset to 0 (or replaced): the apparent "wrap" would add ~10 MWh.
  EXPECT_EQ(c.feedPzem(0, 60000), 0u);
  EXPECT_EQ(c.totalWh(), 10u);
  EXPECT_EQ(c.feedPzem(3, 60000), 3u);  // counting continues from the new baseline
  // A corrupted jump upwards is refused too: 26 kW for one minute is at most 434 Wh.
  EXPECT_EQ(c.feedPzem(500000, 60000), 0u);
  EXPECT_EQ(c.totalWh(), 13u);
  // 10 Wh in one second is more than 26 kW can deliver.
  EXPECT_EQ(c.feedPzem(500010, 1000), 0u);
  // An out-of-range register value is ignored without moving the baseline.
  EXPECT_EQ(c.feedPzem(zkm::PZEM_ENERGY_MODULUS, 1000), 0u);
  EXPECT_EQ(c.feedPzem(500011, 1000), 1u);
}

TEST(EnergyCounter, RestoreAcceptsOnlyBoundedCatchUp) {
  zkm::EnergyCounter a;
  a.restore(5000, 777, true, 150);
  EXPECT_EQ(a.feedPzem(877, 10), 100u);  // metered by the PZEM between checkpoint and power cut
  EXPECT_EQ(a.totalWh(), 5100u);
  zkm::EnergyCounter b;
  b.restore(5000, 777, true, 150);
  EXPECT_EQ(b.feedPzem(9777, 10), 0u);  // more than could have happened: not added
  EXPECT_EQ(b.totalWh(), 5000u);
}

TEST(EnergyCounter, PulseFallbackDropsThePzemBaseline) {
  zkm::EnergyCounter c;
  c.feedPzem(100, 0);
  c.addWh(40);  // PZEM silent, pulses counted
  EXPECT_EQ(c.feedPzem(140, 60000), 0u);  // the PZEM's 40 Wh were already counted by pulses
  EXPECT_EQ(c.totalWh(), 40u);
  EXPECT_EQ(c.feedPzem(150, 60000), 10u);
}

TEST(PulseMeter, WhAndPowerFromCfPulses) {
  zkm::PulseMeter p(3200);  // 3200 imp/kWh
  uint32_t wh = 0;
  for (int i = 1; i <= 10; i++) wh += p.onPulses(32, (uint32_t)i * 1000);  // 320 pulses in 10 s
  EXPECT_EQ(wh, 100u);
  // 32 pulses/s = 36 kWh/h... scaled: 32 * 3600 / 3200 kWh/h = 36 kW
  EXPECT_EQ(p.powerW(), 36000u);
  EXPECT_EQ(p.onPulses(3, 11000), 0u);  // fractions carry
  EXPECT_EQ(p.onPulses(1, 11100), 1u);  // 3.2 pulses = 1 Wh
}

TEST(CheckpointLog, RestoresTheNewestValidEntry) {
  RamStore store(1024);
  zkm::CheckpointLog log(store, 0, 8);
  zkm::Checkpoint cp;
  EXPECT_FALSE(log.restore(cp));
  for (uint32_t i = 1; i <= 20; i++) {
    zkm::Checkpoint w = {i * 100ull, i, i * 1024u, zkm::CHECKPOINT_RAW_VALID};
    log.append(w);
  }
  zkm::CheckpointLog again(store, 0, 8);
  ASSERT_TRUE(again.restore(cp));
  EXPECT_EQ(cp.energyWh, 2000u);
  EXPECT_EQ(cp.seqLimit, 20u * 1024u);
  EXPECT_EQ(again.generation(), 20u);
}

TEST(CheckpointLog, ATornWriteFallsBackToThePreviousEntry) {
  RamStore store(512);
  zkm::CheckpointLog log(store, 0, 4);
  zkm::Checkpoint a = {1000, 5, 2048, zkm::CHECKPOINT_RAW_VALID};
  log.append(a);
  for (int cut = 0; cut < zkm::CHECKPOINT_ENTRY_SIZE; cut++) {
    RamStore copy = store;
    zkm::CheckpointLog l(copy, 0, 4);
    zkm::Checkpoint r;
    ASSERT_TRUE(l.restore(r));
    copy.tearAfter = cut;
    zkm::Checkpoint b = {1100, 105, 2048, zkm::CHECKPOINT_RAW_VALID};
    l.append(b);
    zkm::CheckpointLog after(copy, 0, 4);
    ASSERT_TRUE(after.restore(r));
    EXPECT_EQ(r.energyWh, 1000u) << "cut after " << cut;
  }
}

TEST(CheckpointLog, WearIsSpreadOverAllSlots) {
  RamStore store(1024);
  const uint8_t slots = 32;
  zkm::CheckpointLog log(store, 0, slots);
  for (uint32_t i = 0; i < 3200; i++) {
    zkm::Checkpoint w = {i, 0, 0, 0};
    log.append(w);
  }
  uint32_t maxWrites = 0;
  for (size_t i = 0; i < slots * zkm::CHECKPOINT_ENTRY_SIZE; i++) maxWrites = std::max(maxWrites, store.writes[i]);
  EXPECT_EQ(maxWrites, 100u);  // 3200 checkpoints / 32 slots
}

// A meter life with random power cuts: the restored counter never exceeds the true one and never
// trails it by more than one checkpoint step; sequence numbers never repeat.
TEST(Persistence, PowerCutsLoseBoundedEnergyAndNeverInflateOrReuseSeq) {
  const uint32_t STEP = 100;
  RamStore store(1024);
  uint64_t truth = 0;
  uint32_t lastSeqUsed = 0;
  bool anySeq = false;
  uint32_t rng = 12345;
  auto rand = [&rng]() { return rng = rng * 1103515245u + 12345u, (rng >> 8) & 0xFFFF; };
  for (int life = 0; life < 200; life++) {
    zkm::CheckpointLog log(store, 0, 32);
    zkm::CheckpointPolicy policy(STEP, 64);
    zkm::EnergyCounter counter;
    zkm::SeqAllocator seq;
    zkm::Checkpoint cp;
    if (log.restore(cp)) {
      policy.restored(cp);
      // Pulse mode (no PZEM baseline): the worst case for loss.
      counter.restore(cp.energyWh, 0, false, 0);
      seq.restore(cp.seqLimit);
      EXPECT_LE(counter.totalWh(), truth);
      // One step plus the sample that crossed it (a write torn at that moment keeps the one before).
      EXPECT_LE(truth - counter.totalWh(), STEP + 6);
    } else {
      EXPECT_LE(truth, STEP + 6);  // never checkpointed: only the first step can be lost
    }
    truth = counter.totalWh();  // what was lost is lost; measure on from here
    int steps = (int)(rand() % 300);
    for (int s = 0; s < steps; s++) {
      uint32_t wh = rand() % 7;
      counter.addWh(wh);
      truth += wh;
      bool wantSeq = rand() % 4 == 0;
      // A sequence number is used only below a persisted reservation: reserve first, then use.
      if (policy.due(counter.totalWh(), seq.next() + (wantSeq ? 1 : 0))) {
        policy.prepare(counter.totalWh(), 0, false, seq.next(), cp);
        bool tear = rand() % 10 == 0;  // the power fails during this very write
        if (tear) store.tearAfter = (int)(rand() % zkm::CHECKPOINT_ENTRY_SIZE);
        log.append(cp);
        if (tear || rand() % 10 == 0) break;
      }
      if (wantSeq) {
        uint32_t n = seq.take();
        EXPECT_TRUE(!anySeq || n > lastSeqUsed);
        lastSeqUsed = n;
        anySeq = true;
      }
    }
  }
}

TEST(IntervalAccumulator, ClosesOnBoundariesWithCounterDifferences) {
  zkm::IntervalAccumulator acc(900);
  acc.begin(1764000100, 1000);
  zkm::IntervalClose rec;
  EXPECT_FALSE(acc.close(1764000899, 1050, 0, rec));
  EXPECT_EQ(acc.currentWh(1050), 50u);
  ASSERT_TRUE(acc.close(1764000900, 1060, 0, rec));
  EXPECT_EQ(rec.time, 1764000900u);
  EXPECT_EQ(rec.intervalWh, 60u);
  EXPECT_EQ(rec.energyWh, 1060u);
  EXPECT_FALSE(acc.close(1764000901, 1061, 0, rec));
  // A time jump over three boundaries: three records, the energy in the first, zeros after.
  ASSERT_TRUE(acc.close(1764003600, 1100, 0, rec));
  EXPECT_EQ(rec.intervalWh, 40u);
  ASSERT_TRUE(acc.close(1764003600, 1100, 0, rec));
  EXPECT_EQ(rec.intervalWh, 0u);
  ASSERT_TRUE(acc.close(1764003600, 1100, 0, rec));
  EXPECT_EQ(rec.time, 1764003600u);
  EXPECT_FALSE(acc.close(1764003600, 1100, 0, rec));
}

TEST(IntervalAccumulator, CarriesEnergyBeyondThe15BitReadingRange) {
  zkm::IntervalAccumulator acc(900);
  acc.begin(0, 0);
  zkm::IntervalClose rec;
  uint64_t sum = 0;
  // 100000 Wh seen at once: three intervals at the cap, the rest in the fourth.
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(acc.close(3600, 100000, 0, rec));
    EXPECT_EQ(rec.intervalWh, zkm::READING_MAX);
    EXPECT_EQ(rec.intervalWh, 32767u);
    sum += rec.intervalWh;
  }
  ASSERT_TRUE(acc.close(3600, 100000, 0, rec));
  EXPECT_EQ(rec.intervalWh, 100000u - 3 * 32767u);
  sum += rec.intervalWh;
  EXPECT_EQ(sum, 100000u);
  EXPECT_EQ(rec.energyWh, 100000u);
  EXPECT_FALSE(acc.close(3600, 100000, 0, rec));
}

TEST(IntervalAccumulator, SplitsImportAndExportWithinTheLineLimit) {
  zkm::IntervalAccumulator acc(900);
  acc.begin(100, 5000, 700);
  zkm::IntervalClose rec;
  EXPECT_EQ(acc.currentExportWh(740), 40u);
  // An interval with both directions (a cloud at noon): each counter's own difference.
  ASSERT_TRUE(acc.close(900, 5030, 740, rec));
  EXPECT_EQ(rec.intervalWh, 30u);
  EXPECT_EQ(rec.intervalExportedWh, 40u);
  EXPECT_EQ(rec.exportedWh, 740u);
  // After a time jump the two together never exceed READING_MAX an interval (import first);
  // the rest carries, so each counter's interval Wh still sum to its difference.
  uint64_t imported = 0, exported = 0;
  for (int i = 0; i < 4; i++) {
    ASSERT_TRUE(acc.close(4500, 5030 + 20000, 740 + 30000, rec));
    EXPECT_LE(rec.intervalWh + rec.intervalExportedWh, zkm::READING_MAX);
    imported += rec.intervalWh;
    exported += rec.intervalExportedWh;
  }
  EXPECT_EQ(imported, 20000u);
  EXPECT_EQ(exported, 30000u);
  EXPECT_EQ(rec.exportedWh, 740u + 30000u);
}

namespace {

class RamRecordStore : public zkm::RecordStore {
 public:
  explicit RamRecordStore(size_t size) : bytes(size, 0xFF) {}
  bool read(uint32_t off, uint8_t *out, uint16_t len) override {
    if (off + len > bytes.size()) return false;
    memcpy(out, bytes.data() + off, len);
    return true;
  }
  bool write(uint32_t off, const uint8_t *data, uint16_t len) override {
    if (off + len > bytes.size()) return false;
    uint16_t n = tearAfter >= 0 && tearAfter < len ? (uint16_t)tearAfter : len;
    memcpy(bytes.data() + off, data, n);
    tearAfter = -1;
    return n == len;
  }
  std::vector<uint8_t> bytes;
  int tearAfter = -1;
};

zkm::MeterRecord sampleRecord(uint64_t seq) {
  zkm::MeterRecord r;
  memset(&r, 0, sizeof(r));
  r.seq = seq;
  r.kind = (uint8_t)(seq % 2);
  r.time = 1764000000 + seq * 10;
  r.energyWh = 1000 + seq;
  r.intervalWh = (uint32_t)seq;
  r.temperatureCenti = -(int32_t)seq;
  r.relays = (uint8_t)seq;
  return r;
}

}  // namespace

TEST(RecordLog, SeqStaysContiguousAcrossRebootsAndResendWorksFromFlash) {
  const uint32_t slots = 16;
  RamRecordStore store(slots * zkm::RECORD_ENTRY_BYTES);
  uint8_t sig[65];
  {
    zkm::RecordLog log(store, slots);
    EXPECT_EQ(log.restore(), 0u);
    for (uint64_t s = 0; s < 40; s++) {
      memset(sig, (int)s, sizeof(sig));
      ASSERT_TRUE(log.append(sampleRecord(s), sig));
    }
    EXPECT_FALSE(log.append(sampleRecord(41), sig));  // not the next seq
  }
  zkm::RecordLog after(store, slots);  // reboot
  EXPECT_EQ(after.restore(), 40u);
  zkm::MeterRecord r;
  ASSERT_TRUE(after.find(39, r, sig));
  EXPECT_EQ(r.energyWh, 1039u);
  EXPECT_EQ(r.temperatureCenti, -39);
  EXPECT_EQ(sig[0], 39);
  ASSERT_TRUE(after.find(24, r, sig));  // oldest still in the ring
  EXPECT_FALSE(after.find(23, r, sig));  // overwritten by seq 39
  EXPECT_FALSE(after.find(40, r, sig));
}

TEST(RecordLog, ATornEntryIsAbsentAndItsSeqIsReissued) {
  const uint32_t slots = 8;
  RamRecordStore store(slots * zkm::RECORD_ENTRY_BYTES);
  uint8_t sig[65] = {0};
  zkm::RecordLog log(store, slots);
  log.restore();
  for (uint64_t s = 0; s < 5; s++) ASSERT_TRUE(log.append(sampleRecord(s), sig));
  store.tearAfter = 60;
  EXPECT_FALSE(log.append(sampleRecord(5), sig));  // power cut mid-write: never published
  zkm::RecordLog after(store, slots);
  EXPECT_EQ(after.restore(), 5u);  // seq 5 was never published, so issuing it now is no reuse
  zkm::MeterRecord r;
  EXPECT_FALSE(after.find(5, r, sig));
}

TEST(RecordLog, BinaryRecordRoundTrips) {
  zkm::MeterRecord r = sampleRecord(7), back;
  r.seq = (1ull << 53) - 1;
  r.temperatureCenti = INT32_MIN;
  uint8_t buf[zkm::RECORD_BYTES];
  zkm::recordEncode(r, buf);
  zkm::recordDecode(buf, back);
  EXPECT_EQ(back.seq, r.seq);
  EXPECT_EQ(back.temperatureCenti, r.temperatureCenti);
  EXPECT_EQ(back.energyWh, r.energyWh);
  EXPECT_EQ(back.time, r.time);
  EXPECT_EQ(back.kind, r.kind);
  EXPECT_EQ(back.relays, r.relays);
  EXPECT_EQ(back.intervalWh, r.intervalWh);
}
