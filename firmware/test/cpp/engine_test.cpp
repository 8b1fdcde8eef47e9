// The ESP8266 meter logic (zkm_engine) over a simulated three-day period, with and without a
// reboot in the middle: contiguous seq, intervals that sum to the counters, the signed period and
// its commitment recomputed independently from the published interval records.
#include <gtest/gtest.h>

#include <vector>

#include "secp256k1_signer.h"
#include "zkmeter.h"

namespace {

class RamRecords : public zkm::RecordStore {
 public:
  explicit RamRecords(size_t size) : bytes(size, 0xFF) {}
  bool read(uint32_t off, uint8_t *out, uint16_t len) override {
    if (off + len > bytes.size()) return false;
    memcpy(out, bytes.data() + off, len);
    return true;
  }
  bool write(uint32_t off, const uint8_t *data, uint16_t len) override {
    if (off + len > bytes.size()) return false;
    memcpy(bytes.data() + off, data, len);
    return true;
  }
  std::vector<uint8_t> bytes;
};

class RamJournal : public zkm::PeriodJournal {
 public:
  struct Entry {
    uint64_t t;
    uint32_t wh, xwh;
  };
  void begin(uint64_t s, uint64_t c, uint64_t x) override {
    has = true;
    start = s;
    counter = c;
    exportCounter = x;
    entries.clear();
  }
  void interval(uint64_t t, uint32_t wh, uint32_t xwh) override { entries.push_back({t, wh, xwh}); }
  bool readHeader(uint64_t &s, uint64_t &c, uint64_t &x) override {
    cursor = 0;
    if (!has) return false;
    s = start;
    c = counter;
    x = exportCounter;
    return true;
  }
  bool readInterval(uint64_t &t, uint32_t &wh, uint32_t &xwh) override {
    if (cursor >= entries.size()) return false;
    t = entries[cursor].t;
    wh = entries[cursor].wh;
    xwh = entries[cursor].xwh;
    cursor++;
    return true;
  }
  bool has = false;
  uint64_t start = 0, counter = 0, exportCounter = 0;
  std::vector<Entry> entries;
  size_t cursor = 0;
};

struct Captured {
  zkm::MeterRecord record;
  std::vector<uint8_t> sig;
};

class Sink : public zkm::MeterSink {
 public:
  void record(const zkm::MeterRecord &r, const uint8_t sig[65]) override { records.push_back({r, {sig, sig + 65}}); }
  void period(const zkm::BillingPeriod &p, const uint8_t sig[65], const uint8_t exportSig[65], bool latest) override {
    periods.push_back(p);
    periodSigs.push_back({sig, sig + 65});
    exportSigs.push_back({exportSig, exportSig + 65});
    periodLatest.push_back(latest);
  }
  void gone(const zkm::RecordsGone &g, const uint8_t sig[65]) override {
    gones.push_back(g);
    goneSigs.push_back({sig, sig + 65});
  }
  void relayChanged(uint8_t n, bool on) override { relays.push_back({n, on}); }
  void fanChanged(uint8_t speed) override { fans.push_back(speed); }
  std::vector<Captured> records;
  std::vector<zkm::BillingPeriod> periods;
  std::vector<std::vector<uint8_t>> periodSigs;
  std::vector<std::vector<uint8_t>> exportSigs;
  std::vector<bool> periodLatest;
  std::vector<zkm::RecordsGone> gones;
  std::vector<std::vector<uint8_t>> goneSigs;
  std::vector<std::pair<uint8_t, bool>> relays;
  std::vector<uint8_t> fans;
};

const uint64_t T0 = 1764028800;  // a UTC midnight
const zkm::PeriodGeometry GEOMETRY = {900, 288};  // test profile: at most 3 days

uint64_t energyAt(uint64_t t) {
  uint64_t minutes = (t - T0) / 60;
  return 1000 + minutes * 3 + (minutes / 97) * 5;  // uneven load
}

zkm::Measurement measurementAt(uint64_t t) {
  zkm::Measurement m;
  memset(&m, 0, sizeof(m));
  m.energyWh = energyAt(t);
  m.powerW = 180;
  m.voltageMv = 230000;
  m.relays = 0x80;
  return m;
}

struct Meter {
  uint8_t key[32];
  zkm::Secp256k1Signer *signer;
  zkm::MeterIdentity id;
  RamRecords store{64 * zkm::RECORD_ENTRY_BYTES * 32};
  RamJournal journal;
  RamRecords closeBytes{zkm::PERIOD_CLOSES_KEPT * zkm::PERIOD_ENTRY_BYTES};
  zkm::PeriodCloseStore closes{closeBytes, zkm::PERIOD_CLOSES_KEPT};

  Meter() {
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0x11 + i);
    signer = new zkm::Secp256k1Signer(key);
    signer->address(id.address);
    zkm::Eip712Domain domain;
    zkm::eip712SetChainId(domain, 31337);
    memset(domain.verifyingContract, 0x5f, 20);
    zkm::eip712DomainSeparator(domain, id.domainSeparator);
    for (int i = 0; i < 32; i++) id.pairingKey[i] = (uint8_t)(0xA0 ^ i);
  }
  ~Meter() { delete signer; }
};

// Runs [from, to) with a measurement every minute; a fresh engine (a reboot) at each `boots` time.
void run(Meter &meter, Sink &sink, const std::vector<uint64_t> &boots, uint64_t to, uint64_t offlineFrom,
         uint64_t offlineTo) {
  zkm::RecordLog *log = nullptr;
  zkm::MeterEngine *engine = nullptr;
  size_t nextBoot = 0;
  for (uint64_t t = T0; t < to; t += 60) {
    if (nextBoot < boots.size() && t >= boots[nextBoot]) {
      delete engine;
      delete log;
      log = new zkm::RecordLog(meter.store, 2048);
      engine = new zkm::MeterEngine(meter.id, *meter.signer, *log, meter.journal, meter.closes, sink, GEOMETRY);
      engine->start(T0, 1000, 0);
      nextBoot++;
    }
    if (t >= offlineFrom && t < offlineTo) continue;  // the ESP8266 is off: no measurement seen
    engine->onMeasurement(measurementAt(t), t);
    if ((t - T0) % 600 == 0) engine->liveSample(t);
  }
  delete engine;
  delete log;
}

void expectConsistentPeriod(Meter &meter, const Sink &sink) {
  ASSERT_EQ(sink.periods.size(), 1u);
  const zkm::BillingPeriod &p = sink.periods[0];
  EXPECT_EQ(p.periodStart, T0);
  EXPECT_EQ(p.periodEnd, T0 + 3 * 86400);
  EXPECT_EQ(p.startCounter, 1000u);
  EXPECT_EQ(p.endCounter, energyAt(T0 + 3 * 86400));
  EXPECT_EQ(0, memcmp(p.meter, meter.id.address, 20));
  // Seq contiguous from 0; interval readings sum to the counter difference.
  std::vector<uint16_t> readings(GEOMETRY.n, 0);
  uint64_t sum = 0;
  for (size_t i = 0; i < sink.records.size(); i++) {
    const zkm::MeterRecord &r = sink.records[i].record;
    EXPECT_EQ(r.seq, i);
    if (r.kind != 1 || r.time > p.periodEnd) continue;
    readings[(r.time - 900 - T0) / 900] = (uint16_t)r.intervalWh;
    sum += r.intervalWh;
  }
  EXPECT_EQ(sum, p.endCounter - p.startCounter);
  // The commitment, recomputed from the published readings alone.
  uint8_t salt[32], c[32];
  zkm::deriveSalt(meter.id.pairingKey, meter.id.address, T0, salt);
  zkm::CommitmentChain chain;
  chain.begin(salt);
  for (uint16_t r : readings) chain.push(r);
  ASSERT_TRUE(chain.finish(GEOMETRY.n, c));
  EXPECT_EQ(0, memcmp(c, p.commitment, 32));
  uint8_t digest[32], sig[65];
  zkm::billingPeriodDigest(meter.id.domainSeparator, p, digest);
  ASSERT_TRUE(meter.signer->sign(digest, sig));
  EXPECT_EQ(0, memcmp(sig, sink.periodSigs[0].data(), 65));
}

}  // namespace

TEST(MeterEngine, ClosesASignedPeriodWhoseCommitmentMatchesItsReadings) {
  Meter meter;
  Sink sink;
  run(meter, sink, {T0}, T0 + 3 * 86400 + 3600, 0, 0);
  expectConsistentPeriod(meter, sink);
  size_t intervalRecords = 0;
  for (const Captured &c : sink.records) intervalRecords += c.record.kind == 1;
  EXPECT_EQ(intervalRecords, 288u + 3u);  // three days, then the next period until just before +1 h
  EXPECT_EQ(sink.relays.size(), 8u);      // reported once at start-up, no change afterwards
}

TEST(MeterEngine, AReboot20MinutesOfflineKeepsSeqContiguousAndThePeriodExact) {
  Meter meter;
  Sink sink;
  uint64_t down = T0 + 86400 + 5 * 3600 + 7 * 60;  // crosses an interval boundary while off
  run(meter, sink, {T0, down + 20 * 60}, T0 + 3 * 86400 + 600, down, down + 20 * 60);
  expectConsistentPeriod(meter, sink);
}

TEST(MeterEngine, ResendServesLoggedRecordsAfterAReboot) {
  Meter meter;
  Sink sink;
  run(meter, sink, {T0}, T0 + 3 * 3600, 0, 0);
  size_t published = sink.records.size();
  zkm::RecordLog log(meter.store, 2048);
  Sink again;
  zkm::MeterEngine engine(meter.id, *meter.signer, log, meter.journal, meter.closes, again, GEOMETRY);
  engine.start(T0, 1000, 0);
  EXPECT_EQ(engine.nextSeq(), published);
  EXPECT_EQ(engine.resend(3, 7), 5u);
  ASSERT_EQ(again.records.size(), 5u);
  EXPECT_EQ(again.records[0].record.seq, 3u);
  EXPECT_EQ(0, memcmp(again.records[4].sig.data(), sink.records[7].sig.data(), 65));
}

TEST(MeterEngine, ResendSignsThatRecordsTheRingOverwroteAreGone) {
  Meter meter;
  Sink sink;
  // A small ring: 64 slots, so a few hours of records overwrite the oldest.
  zkm::RecordLog log(meter.store, 64);
  zkm::MeterEngine engine(meter.id, *meter.signer, log, meter.journal, meter.closes, sink, GEOMETRY);
  engine.start(T0, 1000, 0);
  for (uint64_t t = T0; t < T0 + 30 * 3600; t += 60) {
    engine.onMeasurement(measurementAt(t), t);
    if ((t - T0) % 600 == 0) engine.liveSample(t);
  }
  uint64_t next = engine.nextSeq();
  ASSERT_GT(next, 200u);
  Sink again;
  zkm::MeterEngine resender(meter.id, *meter.signer, log, meter.journal, meter.closes, again, GEOMETRY);
  resender.start(T0, 1000, 0);
  // 10 .. next+5: 10 .. next-65 are overwritten (one GONE), the last 64 are served, nothing beyond next.
  EXPECT_EQ(resender.resend(10, next + 5), 64u);
  ASSERT_EQ(again.gones.size(), 1u);
  EXPECT_EQ(again.gones[0].fromSeq, 10u);
  EXPECT_EQ(again.gones[0].toSeq, next - 65);
  EXPECT_EQ(0, memcmp(again.gones[0].meter, meter.id.address, 20));
  EXPECT_EQ(again.records.front().record.seq, next - 64);
  EXPECT_EQ(again.records.back().record.seq, next - 1);
  uint8_t digest[32], sig[65];
  zkm::recordsGoneDigest(meter.id.domainSeparator, again.gones[0], digest);
  ASSERT_TRUE(meter.signer->sign(digest, sig));
  EXPECT_EQ(0, memcmp(sig, again.goneSigs[0].data(), 65));
  // A range entirely overwritten: one GONE, no records, and it ends where asked.
  Sink old;
  zkm::MeterEngine third(meter.id, *meter.signer, log, meter.journal, meter.closes, old, GEOMETRY);
  third.start(T0, 1000, 0);
  EXPECT_EQ(third.resend(3, 7), 0u);
  ASSERT_EQ(old.gones.size(), 1u);
  EXPECT_EQ(old.gones[0].fromSeq, 3u);
  EXPECT_EQ(old.gones[0].toSeq, 7u);
  // A torn entry in the middle of the held run is gone too, alone.
  meter.store.bytes[(size_t)((next - 10) % 64) * zkm::RECORD_ENTRY_BYTES + 5] ^= 0xFF;
  Sink torn;
  zkm::MeterEngine fourth(meter.id, *meter.signer, log, meter.journal, meter.closes, torn, GEOMETRY);
  fourth.start(T0, 1000, 0);
  EXPECT_EQ(fourth.resend(next - 20, next - 1), 19u);
  ASSERT_EQ(torn.gones.size(), 1u);
  EXPECT_EQ(torn.gones[0].fromSeq, next - 10);
  EXPECT_EQ(torn.gones[0].toSeq, next - 10);
}

TEST(MeterEngine, KeepsSignedClosesAcrossARebootForResendPeriod) {
  Meter meter;
  Sink sink;
  {
    zkm::RecordLog log(meter.store, 2048);
    zkm::MeterEngine engine(meter.id, *meter.signer, log, meter.journal, meter.closes, sink, GEOMETRY);
    engine.start(T0, 1000, 1);  // PeriodDays 1: a close every midnight
    for (uint64_t t = T0; t <= T0 + 3 * 86400 + 60; t += 60) engine.onMeasurement(measurementAt(t), t);
    EXPECT_EQ(engine.periodDays(), 1u);
  }
  ASSERT_EQ(sink.periods.size(), 3u);
  for (bool latest : sink.periodLatest) EXPECT_TRUE(latest);
  // After a reboot: the first close comes back byte for byte, not as the latest; unknown starts fail.
  zkm::RecordLog log(meter.store, 2048);
  Sink again;
  zkm::MeterEngine engine(meter.id, *meter.signer, log, meter.journal, meter.closes, again, GEOMETRY);
  engine.start(T0, 1000, 1);
  ASSERT_TRUE(engine.resendPeriod(T0));
  ASSERT_EQ(again.periods.size(), 1u);
  EXPECT_FALSE(again.periodLatest[0]);
  uint8_t kept[zkm::PERIOD_BYTES], original[zkm::PERIOD_BYTES];  // fields, not struct padding
  zkm::periodEncode(again.periods[0], kept);
  zkm::periodEncode(sink.periods[0], original);
  EXPECT_EQ(0, memcmp(kept, original, zkm::PERIOD_BYTES));
  EXPECT_EQ(again.periodSigs[0], sink.periodSigs[0]);
  EXPECT_FALSE(engine.resendPeriod(T0 + 900));
  EXPECT_FALSE(engine.resendPeriod(T0 + 3 * 86400));  // still open
}

TEST(PeriodCloseStore, ReplacesTheOldestAndSkipsTornEntries) {
  RamRecords bytes(3 * zkm::PERIOD_ENTRY_BYTES);
  zkm::PeriodCloseStore store(bytes, 3);
  zkm::BillingPeriod p;
  memset(&p, 0, sizeof(p));
  uint8_t sig[65], out[65], xsig[65], xout[65];
  for (uint64_t i = 0; i < 5; i++) {
    p.periodStart = T0 + i * 86400;
    p.periodEnd = p.periodStart + 86400;
    p.commitment[31] = (uint8_t)i;
    p.exportEndCounter = 700 + i;
    p.exportCommitment[0] = (uint8_t)(0x20 + i);
    memset(sig, (int)(0x10 + i), 65);
    memset(xsig, (int)(0x30 + i), 65);
    ASSERT_TRUE(store.put(p, sig, xsig));
  }
  zkm::BillingPeriod found;
  EXPECT_FALSE(store.find(T0, found, out, xout));
  EXPECT_FALSE(store.find(T0 + 86400, found, out, xout));
  for (uint64_t i = 2; i < 5; i++) {
    ASSERT_TRUE(store.find(T0 + i * 86400, found, out, xout));
    EXPECT_EQ(found.periodEnd, T0 + (i + 1) * 86400);
    EXPECT_EQ(found.commitment[31], i);
    EXPECT_EQ(out[64], 0x10 + i);
    // The export half and its signature come back with the close.
    EXPECT_EQ(found.exportEndCounter, 700 + i);
    EXPECT_EQ(found.exportCommitment[0], 0x20 + i);
    EXPECT_EQ(xout[64], 0x30 + i);
  }
  // Storing the same close again keeps one copy (a re-close after a reboot).
  ASSERT_TRUE(store.put(found, out, xout));
  ASSERT_TRUE(store.find(T0 + 4 * 86400, found, out, xout));
  // A torn write (bad CRC) is absent.
  // Slots now hold 3 d (slot 0, replaced the oldest), 4 d (slot 1), 2 d (slot 2).
  bytes.bytes[10] ^= 0xFF;  // slot 0
  int present = 0;
  for (uint64_t i = 2; i < 5; i++) present += store.find(T0 + i * 86400, found, out, xout);
  EXPECT_EQ(present, 2);
  EXPECT_FALSE(store.find(T0 + 3 * 86400, found, out, xout));
}

TEST(MeterEngine, HazardChangesAreRecordedAtOnceAndRelayChangesReported) {
  Meter meter;
  Sink sink;
  zkm::RecordLog log(meter.store, 2048);
  zkm::MeterEngine engine(meter.id, *meter.signer, log, meter.journal, meter.closes, sink, GEOMETRY);
  engine.start(T0, 1000, 0);
  engine.onMeasurement(measurementAt(T0 + 60), T0 + 60);
  size_t before = sink.records.size();
  zkm::Measurement m = measurementAt(T0 + 61);
  m.hazards = zkm::HAZARD_FLAME;
  m.relays = 0x80 | 0x20 | 0x40;
  engine.onMeasurement(m, T0 + 61);
  ASSERT_EQ(sink.records.size(), before + 1);
  EXPECT_EQ(sink.records.back().record.kind, 0);
  EXPECT_EQ(sink.records.back().record.hazards, zkm::HAZARD_FLAME);
  ASSERT_GE(sink.relays.size(), 10u);
  EXPECT_EQ(sink.relays[8], std::make_pair((uint8_t)6, true));
  EXPECT_EQ(sink.relays[9], std::make_pair((uint8_t)7, true));
}

#include "json.h"

// protocol/vectors/engine.json: the TS references' SENSOR and PERIOD payloads for a scripted meter.
TEST(MeterEngine, PrintsTheSamePayloadsAsTheTypeScriptPipeline) {
  using zkmtest::fromHex;
  zkmtest::Json v = zkmtest::loadVectors("engine.json");
  uint64_t t0 = v["t0"].u64();
  zkm::PeriodGeometry g = {(uint32_t)v["intervalSeconds"].u64(), (uint32_t)v["n"].u64()};
  std::vector<uint8_t> key = fromHex(v["privateKey"].str());
  zkm::Secp256k1Signer signer(key.data());
  zkm::MeterIdentity id;
  signer.address(id.address);
  std::vector<uint8_t> pairing = fromHex(v["pairingKey"].str());
  memcpy(id.pairingKey, pairing.data(), 32);
  zkm::Eip712Domain domain;
  std::vector<uint8_t> chain = zkmtest::decTo32(v["chainId"].str());
  memcpy(domain.chainId, chain.data(), 32);
  std::vector<uint8_t> contract = fromHex(v["verifyingContract"].str());
  memcpy(domain.verifyingContract, contract.data(), 20);
  zkm::eip712DomainSeparator(domain, id.domainSeparator);

  RamRecords store(1024 * zkm::RECORD_ENTRY_BYTES);
  RamJournal journal;
  RamRecords closeBytes(zkm::PERIOD_CLOSES_KEPT * zkm::PERIOD_ENTRY_BYTES);
  zkm::PeriodCloseStore closes(closeBytes, zkm::PERIOD_CLOSES_KEPT);
  Sink sink;
  zkm::RecordLog log(store, 1024);
  zkm::MeterEngine engine(id, signer, log, journal, closes, sink, g);
  engine.start(t0, 1000, 0, 200);
  for (uint64_t t = t0; sink.periods.empty(); t += 60) {
    zkm::Measurement m;
    memset(&m, 0, sizeof(m));
    uint64_t minutes = (t - t0) / 60;
    m.energyWh = 1000 + minutes * 3 + (minutes / 97) * 5;
    m.exportedWh = 200 + (minutes / 4) * 2 + (minutes / 331) * 7;  // exportAt of engine.json
    m.powerW = 180;
    m.voltageMv = 230000;
    m.relays = 0x80;
    engine.onMeasurement(m, t);
    ASSERT_LT(t, t0 + 4 * 86400) << "no period closed";
  }
  char buf[1024];
  const zkmtest::Json &sensors = v["sensors"];
  for (size_t i = 0; i < sensors.size(); i++) {
    size_t n = zkm::buildSensorJson(sink.records[i].record, sink.records[i].sig.data(), buf, sizeof(buf));
    EXPECT_EQ(std::string(buf, n), sensors[i].str());
  }
  size_t n =
      zkm::buildPeriodJson(sink.periods[0], sink.periodSigs[0].data(), sink.exportSigs[0].data(), buf, sizeof(buf));
  EXPECT_EQ(std::string(buf, n), v["period"].str());
}
