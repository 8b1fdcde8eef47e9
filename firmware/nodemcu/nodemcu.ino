// zkmeter NodeMCU (ESP8266): WiFi + MQTT glue. The core library does everything that matters —
// interval records, sequence numbers, EIP-712 digests, the period commitment, payloads, command
// parsing and the serial link to the UNO; this file moves bytes between them, the network, the
// clock and flash. Libraries: ESP8266 Arduino core (WiFi, EEPROM, LittleFS, time), 256dpi
// arduino-mqtt (QoS 1 publish, last will), trezor-crypto (secp256k1). Provisioning (keys, chain,
// WiFi, broker) is written to EEPROM by the factory tool: see docs/firmware.md.
#include <EEPROM.h>
#include <ESP8266WiFi.h>
#include <LittleFS.h>
#include <MQTT.h>
#include <time.h>
#include <zkmeter.h>

#include "trezor_signer.h"

struct Provisioning {
  uint32_t magic;  // PROVISIONED
  char ssid[33], pass[65], broker[64], ntp[64];
  uint16_t port;
  uint8_t privateKey[32], pairingKey[32];
  uint64_t chainId;
  uint8_t ledger[20];
  uint64_t firstPeriodStart, firstPeriodCounter;  // the provisioning point registered on-chain
  uint8_t periodDays;
};

static const uint32_t PROVISIONED = 0x7a6b6d31;  // "zkm1"
static const uint16_t EEPROM_BYTES = 1024;
// 4096 records (~11 h of 10 s samples + intervals) of Resend history: 508 KB of LittleFS, which
// spreads the writes (~1 MB/day) so each flash block is erased about once a day.
static const uint32_t RECORD_SLOTS = 4096;
static const uint32_t LIVE_MS = 10000, HEARTBEAT_MS = 2000, STATE_MS = 60000;
static const zkm::PeriodGeometry GEOMETRY = {900, 2976};
static const char *PERIOD_FILE = "/period.bin";
static const char *RECORD_FILE = "/records.bin";

// The record ring as one preallocated LittleFS file.
class FileRecordStore : public zkm::RecordStore {
 public:
  bool open() {
    if (!LittleFS.exists(RECORD_FILE)) {
      File f = LittleFS.open(RECORD_FILE, "w");
      uint8_t blank[zkm::RECORD_ENTRY_BYTES];
      memset(blank, 0xFF, sizeof(blank));
      for (uint32_t i = 0; i < RECORD_SLOTS; i++) f.write(blank, sizeof(blank));
      f.close();
    }
    file_ = LittleFS.open(RECORD_FILE, "r+");
    return (bool)file_;
  }
  bool read(uint32_t offset, uint8_t *out, uint16_t len) override {
    return file_.seek(offset) && file_.read(out, len) == len;
  }
  bool write(uint32_t offset, const uint8_t *data, uint16_t len) override {
    if (!file_.seek(offset) || file_.write(data, len) != len) return false;
    file_.flush();  // on flash before the record is published
    return true;
  }

 private:
  File file_;
};

static Provisioning prov;
static FileRecordStore recordStore;
static zkm::RecordLog records(recordStore, RECORD_SLOTS);
static zkm::IntervalAccumulator intervals(GEOMETRY.intervalS);
static zkm::PeriodTracker period(GEOMETRY);
static zkm::LinkDecoder fromUno;
static zkm::Measurement latest;
static bool haveMeasurement;
static uint8_t reportedRelays = 0xFF, reportedFan = 0xFF;
static uint8_t domainSep[32], meterAddress[20];
static char meterName[zkm::METER_NAME_LEN + 1];
static TrezorSigner *signer;
static WiFiClient net;
static MQTTClient mqtt(1024);
static char payload[1024];
static char topic[96];
static uint32_t lastLiveMs, lastHeartbeatMs, lastStateMs;
static uint64_t acked;  // the node's contiguous high-water mark (zkmeter/<meter>/ack)

static void yieldToWifi() { yield(); }

static uint64_t now() {
  time_t t = time(nullptr);
  return t > 1600000000 ? (uint64_t)t : 0;  // 0 until NTP has set the clock
}

static const char *topicFor(const char *prefix, const char *suffix) {
  snprintf(topic, sizeof(topic), "%s/%s/%s", prefix, meterName, suffix);
  return topic;
}

static void sendToUno(uint8_t type, const uint8_t *p, uint8_t len) {
  uint8_t frame[zkm::LINK_MAX_FRAME];
  Serial.write(frame, zkm::linkEncode(type, p, len, frame));
}

// Sign, log to flash, then publish: a record that is published is always in the log (Resend can
// serve it after a reboot), and seq continues from the log, contiguous and never reused.
static void publishRecord(uint8_t kind, uint64_t time, uint64_t energyWh, uint32_t intervalWh) {
  zkm::MeterRecord r;
  uint8_t sig[65];
  r.seq = records.nextSeq();
  r.kind = kind;
  r.time = time;
  r.energyWh = energyWh;
  r.intervalWh = intervalWh;
  r.powerW = latest.powerW;
  r.voltageMv = latest.voltageMv;
  r.currentMa = latest.currentMa;
  r.powerFactor = latest.powerFactor;
  r.temperatureCenti = latest.temperatureCenti;
  r.light = latest.light;
  r.gas = latest.gas;
  r.water = latest.water;
  r.hazards = latest.hazards;
  r.relays = latest.relays;
  r.fanSpeed = latest.fanSpeed;
  uint8_t digest[32];
  zkm::meterRecordDigest(domainSep, r, digest);
  if (!signer->sign(digest, sig) || !records.append(r, sig)) return;
  size_t n = zkm::buildSensorJson(r, sig, payload, sizeof(payload));
  if (n) mqtt.publish(topicFor("tele", "SENSOR"), payload, n, false, 1);
}

static void appendPeriodLog(uint64_t time, uint32_t wh) {
  File f = LittleFS.open(PERIOD_FILE, "a");
  f.write((const uint8_t *)&time, sizeof(time));
  f.write((const uint8_t *)&wh, sizeof(wh));
  f.close();
}

static void openPeriod(uint64_t start, uint64_t counter) {
  uint8_t salt[32];
  zkm::deriveSalt(prov.pairingKey, meterAddress, start, salt);
  period.begin(start, counter, salt, prov.periodDays);
  File f = LittleFS.open(PERIOD_FILE, "w");  // header: where the period started
  f.write((const uint8_t *)&start, sizeof(start));
  f.write((const uint8_t *)&counter, sizeof(counter));
  f.close();
}

// After a reboot: re-open the period and replay its intervals (at most 14 permutations).
static void restorePeriod() {
  File f = LittleFS.open(PERIOD_FILE, "r");
  uint64_t start, counter;
  if (!f || f.read((uint8_t *)&start, 8) != 8 || f.read((uint8_t *)&counter, 8) != 8) {
    if (f) f.close();
    openPeriod(prov.firstPeriodStart, prov.firstPeriodCounter);
    return;
  }
  uint8_t salt[32];
  zkm::deriveSalt(prov.pairingKey, meterAddress, start, salt);
  period.begin(start, counter, salt, prov.periodDays);
  uint64_t t;
  uint32_t wh;
  while (f.read((uint8_t *)&t, 8) == 8 && f.read((uint8_t *)&wh, 4) == 4) period.onInterval(t, wh);
  f.close();
}

static void closeIntervals(uint64_t t) {
  zkm::IntervalClose c;
  while (intervals.close(t, latest.energyWh, c)) {
    publishRecord(1, c.time, c.energyWh, c.intervalWh);
    if (period.onInterval(c.time, c.intervalWh)) appendPeriodLog(c.time, c.intervalWh);
    if (period.complete()) {
      zkm::BillingPeriod p;
      uint8_t digest[32], sig[65];
      period.close(meterAddress, p);
      zkm::billingPeriodDigest(domainSep, p, digest);
      if (signer->sign(digest, sig)) {
        size_t n = zkm::buildPeriodJson(p, sig, payload, sizeof(payload));
        if (n) mqtt.publish(topicFor("tele", "PERIOD"), payload, n, true, 1);
      }
      openPeriod(p.periodEnd, p.endCounter);  // the next period starts exactly where this one ended
    }
  }
}

// The UNO reports what its relays really are: confirm changes to the node (RESULT, then stat/POWER<n>).
static void reportChanges() {
  for (uint8_t n = 1; n <= 8; n++) {
    uint8_t bit = zkm::relayBit(n);
    if (reportedRelays != 0xFF && !((reportedRelays ^ latest.relays) & bit)) continue;
    bool on = latest.relays & bit;
    size_t len = zkm::buildPowerResultJson(n, on, payload, sizeof(payload));
    mqtt.publish(topicFor("stat", "RESULT"), payload, len, false, 1);
    char name[8] = "POWER0";
    name[5] = (char)('0' + n);
    mqtt.publish(topicFor("stat", name), on ? "ON" : "OFF");
  }
  if (latest.fanSpeed != reportedFan) {
    size_t len = zkm::buildFanResultJson(latest.fanSpeed, payload, sizeof(payload));
    mqtt.publish(topicFor("stat", "RESULT"), payload, len, false, 1);
  }
  reportedRelays = latest.relays;
  reportedFan = latest.fanSpeed;
}

static void onMqtt(String &t, String &body) {
  if (t.startsWith("zkmeter/")) {  // {"seq":n}: the node stored everything up to n
    int at = body.indexOf(':');
    acked = at > 0 ? strtoull(body.c_str() + at + 1, nullptr, 10) : 0;
    return;
  }
  zkm::Command c = zkm::parseCommand(t.c_str(), meterName, (const uint8_t *)body.c_str(), body.length());
  switch (c.kind) {
    case zkm::CMD_POWER: {
      uint8_t p[2] = {c.relay, c.action};
      sendToUno(zkm::LINK_SET_RELAY, p, 2);
      break;
    }
    case zkm::CMD_FAN_SPEED:
      sendToUno(zkm::LINK_SET_FAN, &c.value, 1);
      break;
    case zkm::CMD_PERIOD_DAYS:
      if (period.reschedule(c.value, now())) {
        prov.periodDays = c.value;
        EEPROM.put(0, prov);
        EEPROM.commit();
      }
      break;
    case zkm::CMD_RESEND:
      for (uint64_t s = c.from; s <= c.to && s < records.nextSeq(); s++) {
        zkm::MeterRecord r;
        uint8_t sig[65];
        if (!records.find(s, r, sig)) continue;  // older than the ring holds
        size_t n = zkm::buildSensorJson(r, sig, payload, sizeof(payload));
        if (n) mqtt.publish(topicFor("tele", "SENSOR"), payload, n, false, 1);
        yield();
      }
      break;
    default:
      break;
  }
}

static void connectMqtt() {
  if (mqtt.connected() || WiFi.status() != WL_CONNECTED) return;
  mqtt.setWill(topicFor("tele", "LWT"), "Offline", true, 1);
  if (!mqtt.connect(meterName)) return;
  mqtt.publish(topicFor("tele", "LWT"), "Online", true, 1);
  mqtt.subscribe(topicFor("cmnd", "#"), 1);
  mqtt.subscribe(topicFor("zkmeter", "ack"), 1);
}

void setup() {
  Serial.begin(9600);  // the UNO link (9600: see uno.ino)
  EEPROM.begin(EEPROM_BYTES);
  EEPROM.get(0, prov);
  if (prov.magic != PROVISIONED) {
    for (;;) delay(1000);  // nothing to sign with: stay silent rather than publish unsigned data
  }
  LittleFS.begin();
  signer = new TrezorSigner(prov.privateKey);
  signer->address(meterAddress);
  zkm::meterName(meterAddress, meterName);
  zkm::Eip712Domain domain;
  zkm::eip712SetChainId(domain, prov.chainId);
  memcpy(domain.verifyingContract, prov.ledger, 20);
  zkm::eip712DomainSeparator(domain, domainSep);
  zkm::setPoseidonYield(yieldToWifi);
  recordStore.open();
  records.restore();
  restorePeriod();
  WiFi.mode(WIFI_STA);
  WiFi.begin(prov.ssid, prov.pass);
  configTime(0, 0, prov.ntp);
  mqtt.begin(prov.broker, prov.port, net);
  mqtt.onMessage(onMqtt);
}

void loop() {
  uint32_t ms = millis();
  connectMqtt();
  mqtt.loop();
  while (Serial.available()) {
    if (!fromUno.push((uint8_t)Serial.read()) || fromUno.type() != zkm::LINK_MEASUREMENT) continue;
    zkm::Measurement m;
    if (!zkm::measurementDecode(fromUno.payload(), fromUno.length(), m)) continue;
    bool hazardChange = haveMeasurement && m.hazards != latest.hazards;
    latest = m;
    haveMeasurement = true;
    uint64_t t = now();
    if (!t) continue;
    // After a reboot the first interval counts from the last committed counter, so the energy used
    // while the ESP8266 was down lands in an interval and the readings still sum to the counter.
    if (!intervals.started()) intervals.begin(t, period.open() ? period.counter() : latest.energyWh);
    closeIntervals(t);
    if (mqtt.connected()) reportChanges();
    if (hazardChange) publishRecord(0, t, latest.energyWh, intervals.currentWh(latest.energyWh));
  }
  uint64_t t = now();
  // Live samples pause while the node has not acknowledged a ring's worth minus a margin: the
  // ring must never overwrite records the node may still ask for. Interval records always go.
  bool roomForLive = records.nextSeq() < acked + RECORD_SLOTS - 256;
  if (t && haveMeasurement && roomForLive && ms - lastLiveMs >= LIVE_MS) {
    lastLiveMs = ms;
    publishRecord(0, t, latest.energyWh, intervals.currentWh(latest.energyWh));
  }
  if (t && haveMeasurement && ms - lastStateMs >= STATE_MS) {
    lastStateMs = ms;
    size_t n = zkm::buildStateJson(t, ms / 1000, latest.relays, latest.fanSpeed, payload, sizeof(payload));
    if (n) mqtt.publish(topicFor("tele", "STATE"), payload, n);
  }
  if (ms - lastHeartbeatMs >= HEARTBEAT_MS) {
    lastHeartbeatMs = ms;
    uint8_t online = mqtt.connected() ? 1 : 0;  // the UNO runs its fallbacks while this is 0
    sendToUno(zkm::LINK_HEARTBEAT, &online, 1);
  }
}
