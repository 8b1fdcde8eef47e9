// Alarm debounce/hysteresis, safety reactions (docs/protocol.md §8) and local fallbacks.
#include <gtest/gtest.h>

#include "json.h"
#include "zkmeter.h"

using zkm::relayBit;

TEST(Debounced, IgnoresGlitchesShorterThanTheWindow) {
  zkm::Debounced d(20, 100);
  EXPECT_FALSE(d.update(true, 0));
  EXPECT_FALSE(d.update(true, 19));
  EXPECT_FALSE(d.update(false, 19));  // glitch over
  EXPECT_FALSE(d.update(true, 30));
  EXPECT_FALSE(d.update(true, 49));
  EXPECT_TRUE(d.update(true, 50));
  EXPECT_TRUE(d.update(false, 60));
  EXPECT_TRUE(d.update(false, 159));
  EXPECT_TRUE(d.update(true, 160));  // comes back before the off window ends
  EXPECT_TRUE(d.update(false, 170));
  EXPECT_FALSE(d.update(false, 270));
}

TEST(LevelAlarm, HysteresisStopsChatterAtTheThreshold) {
  zkm::LevelAlarm a(400, 300, 0, 0);
  EXPECT_FALSE(a.update(399, 0));
  EXPECT_TRUE(a.update(400, 1));
  EXPECT_TRUE(a.update(350, 2));  // between thresholds: stays on
  EXPECT_TRUE(a.update(399, 3));
  EXPECT_FALSE(a.update(300, 4));
  EXPECT_FALSE(a.update(399, 5));  // between thresholds: stays off
}

TEST(Alarms, DefaultsReactToFlameWithin100ms) {
  zkm::Alarms alarms(zkm::defaultAlarmConfig());
  uint32_t t = 0;
  for (; t < 100 && !(alarms.update(true, 0, 0, t) & zkm::HAZARD_FLAME); t += 5) {
  }
  EXPECT_LT(t, 100u);
  EXPECT_EQ(alarms.hazards(), zkm::HAZARD_FLAME);
}

TEST(RelayController, FlameTurnsOnSprinklerAndBuzzerWhateverWasCommanded) {
  zkm::RelayController r;
  r.command(zkm::RELAY_SPRINKLER, zkm::RELAY_OFF);
  r.command(zkm::RELAY_BUZZER, zkm::RELAY_OFF);
  uint8_t out = r.apply(zkm::HAZARD_FLAME);
  EXPECT_TRUE(out & relayBit(zkm::RELAY_SPRINKLER));
  EXPECT_TRUE(out & relayBit(zkm::RELAY_BUZZER));
  EXPECT_TRUE(out & relayBit(zkm::RELAY_CIRCUITS));  // flame alone does not cut the sockets
  EXPECT_FALSE(r.command(zkm::RELAY_SPRINKLER, zkm::RELAY_OFF));  // a command cannot stop the sprinkler
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_SPRINKLER));
  out = r.apply(0);
  EXPECT_FALSE(out & relayBit(zkm::RELAY_SPRINKLER));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_BUZZER));
}

TEST(RelayController, GasCutsCircuitsSwitchesNothingElseAndLatchesUntilCommanded) {
  zkm::RelayController r;
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_CIRCUITS));  // normally on
  EXPECT_TRUE(r.command(zkm::RELAY_LIGHTS, zkm::RELAY_ON));
  uint8_t out = r.apply(zkm::HAZARD_GAS);
  EXPECT_FALSE(out & relayBit(zkm::RELAY_CIRCUITS));  // the cut-off
  EXPECT_TRUE(out & relayBit(zkm::RELAY_BUZZER));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_VENT));  // a vent fan switched on would spark
  EXPECT_TRUE(out & relayBit(zkm::RELAY_LIGHTS));  // left as it was: switching it off sparks too
  EXPECT_FALSE(r.command(zkm::RELAY_CIRCUITS, zkm::RELAY_ON));  // refused while gas is present
  EXPECT_TRUE(r.command(zkm::RELAY_CIRCUITS, zkm::RELAY_OFF));  // the cut-off itself is allowed
  EXPECT_FALSE(r.command(zkm::RELAY_LIGHTS, zkm::RELAY_OFF));  // locked
  EXPECT_FALSE(r.command(zkm::RELAY_VENT, zkm::RELAY_ON));
  EXPECT_FALSE(r.setFanSpeed(2));
  EXPECT_FALSE(r.command(zkm::RELAY_CIRCUITS, zkm::RELAY_FORCE_ON));  // no override in gas
  EXPECT_FALSE(r.command(zkm::RELAY_BUZZER, zkm::RELAY_FORCE_OFF));
  out = r.apply(0);
  EXPECT_FALSE(out & relayBit(zkm::RELAY_CIRCUITS));  // still latched off after the gas clears
  EXPECT_FALSE(out & relayBit(zkm::RELAY_BUZZER));
  EXPECT_TRUE(r.command(zkm::RELAY_CIRCUITS, zkm::RELAY_ON));
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_CIRCUITS));
}

TEST(RelayController, FireStopsEveryFanAndTheAcAndKeepsThemOffAfterwards) {
  zkm::RelayController r;
  EXPECT_TRUE(r.setFanSpeed(3));
  EXPECT_TRUE(r.command(zkm::RELAY_AC, zkm::RELAY_ON));
  EXPECT_TRUE(r.command(zkm::RELAY_VENT, zkm::RELAY_ON));
  uint8_t out = r.apply(zkm::HAZARD_FLAME);
  EXPECT_FALSE(out & relayBit(zkm::RELAY_FAN));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_AC));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_VENT));
  EXPECT_EQ(r.fanSpeed(), 0);
  // The local comfort fallback (node unreachable) asks for the fan at 39.9 °C: refused.
  zkm::FanFallback fallback;
  uint8_t speed = fallback.update(3990);
  EXPECT_EQ(speed, 3);
  EXPECT_FALSE(r.setFanSpeed(speed));
  EXPECT_FALSE(r.command(zkm::RELAY_AC, zkm::RELAY_ON));
  EXPECT_FALSE(r.outputs() & relayBit(zkm::RELAY_FAN));
  out = r.apply(0);
  EXPECT_FALSE(out & (relayBit(zkm::RELAY_FAN) | relayBit(zkm::RELAY_AC) | relayBit(zkm::RELAY_VENT)));
}

TEST(RelayController, AConfirmedOverrideHoldsUntilTheNextHazard) {
  zkm::RelayController r;
  r.apply(zkm::HAZARD_FLAME);
  EXPECT_FALSE(r.command(zkm::RELAY_SPRINKLER, zkm::RELAY_OFF));  // a plain command is refused
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_SPRINKLER));
  EXPECT_TRUE(r.command(zkm::RELAY_SPRINKLER, zkm::RELAY_FORCE_OFF));
  EXPECT_FALSE(r.outputs() & relayBit(zkm::RELAY_SPRINKLER));
  r.apply(zkm::HAZARD_FLAME);  // the same fire: the override holds
  EXPECT_FALSE(r.outputs() & relayBit(zkm::RELAY_SPRINKLER));
  r.apply(zkm::HAZARD_FLAME | zkm::HAZARD_WATER);  // a new hazard re-arms the interlocks
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_SPRINKLER));
}

TEST(Interlocks, MatchTheSharedMatrix) {
  zkmtest::Json v = zkmtest::loadVectors("relays.json");
  size_t n = 0;
  for (const zkmtest::Json &row : v["interlocks"].items) {
    zkm::InterlockMasks m = zkm::interlockMasks((uint8_t)row["bits"].u64());
    EXPECT_EQ(m.forcedOn, row["forcedOn"].u64()) << "bits " << row["bits"].u64();
    EXPECT_EQ(m.forcedOff, row["forcedOff"].u64()) << "bits " << row["bits"].u64();
    EXPECT_EQ(m.locked, row["locked"].u64()) << "bits " << row["bits"].u64();
    EXPECT_EQ(m.suspendRules, row["suspendRules"].boolean) << "bits " << row["bits"].u64();
    n++;
  }
  EXPECT_EQ(n, 8u);
}

TEST(RelayController, WaterCutsCircuitsAndSoundsBuzzer) {
  zkm::RelayController r;
  uint8_t out = r.apply(zkm::HAZARD_WATER);
  EXPECT_FALSE(out & relayBit(zkm::RELAY_CIRCUITS));
  EXPECT_TRUE(out & relayBit(zkm::RELAY_BUZZER));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_VENT));
  EXPECT_FALSE(out & relayBit(zkm::RELAY_SPRINKLER));
}

TEST(RelayController, CommandsAndFanSpeed) {
  zkm::RelayController r;
  EXPECT_TRUE(r.command(3, zkm::RELAY_ON));
  EXPECT_TRUE(r.outputs() & relayBit(3));
  EXPECT_TRUE(r.command(3, zkm::RELAY_TOGGLE));
  EXPECT_FALSE(r.outputs() & relayBit(3));
  EXPECT_FALSE(r.command(9, zkm::RELAY_ON));
  EXPECT_FALSE(r.command(0, zkm::RELAY_ON));
  EXPECT_TRUE(r.setFanSpeed(2));
  EXPECT_TRUE(r.outputs() & relayBit(zkm::RELAY_FAN));
  EXPECT_FALSE(r.setFanSpeed(4));
  EXPECT_TRUE(r.command(zkm::RELAY_FAN, zkm::RELAY_OFF));
  EXPECT_EQ(r.fanSpeed(), 0);
  EXPECT_TRUE(r.command(zkm::RELAY_FAN, zkm::RELAY_ON));
  EXPECT_EQ(r.fanSpeed(), 1);
}

TEST(FanFallback, StepsWithHysteresis) {
  zkm::FanFallback f;
  EXPECT_EQ(f.update(2500), 0);
  EXPECT_EQ(f.update(2600), 1);
  EXPECT_EQ(f.update(2560), 1);  // within 0.5 °C of the step: keeps speed
  EXPECT_EQ(f.update(2549), 0);
  EXPECT_EQ(f.update(3300), 3);
  EXPECT_EQ(f.update(3160), 3);
  EXPECT_EQ(f.update(3140), 2);
}

TEST(NightLightFallback, OnInTheDarkWithHysteresis) {
  zkm::NightLightFallback n;
  EXPECT_FALSE(n.update(500));
  EXPECT_TRUE(n.update(100));
  EXPECT_TRUE(n.update(200));
  EXPECT_FALSE(n.update(260));
}

TEST(LinkWatchdog, NodeCountsAsGoneWithoutHeartbeats) {
  zkm::LinkWatchdog w(5000);
  EXPECT_FALSE(w.nodeReachable(0));
  w.heartbeat(true, 1000);
  EXPECT_TRUE(w.nodeReachable(5999));
  EXPECT_FALSE(w.nodeReachable(6000));
  w.heartbeat(false, 7000);
  EXPECT_FALSE(w.nodeReachable(7001));
}

TEST(Sensors, AdcConversions) {
  EXPECT_EQ(zkm::lm35Centi(0), 0);
  EXPECT_EQ(zkm::lm35Centi(51), 2492);  // 51 * 500 / 1023 = 24.9 °C
  EXPECT_EQ(zkm::permille(1023), 1000);
  EXPECT_EQ(zkm::permille(512), 500);
}

// The virtual meter's relay twin (protocol/meter/relays.ts) and the firmware agree step by step.
TEST(RelayController, MatchesTheVirtualMeterTwin) {
  zkmtest::Json v = zkmtest::loadVectors("relays.json");
  size_t steps = 0;
  for (const zkmtest::Json &scenario : v["scenarios"].items) {
    zkm::RelayController r;
    for (const zkmtest::Json &s : scenario.items) {
      const std::string &op = s["op"].str();
      bool accepted = true;
      if (op == "command") {
        accepted = r.command((uint8_t)s["n"].u64(), (zkm::RelayAction)s["action"].u64());
      } else if (op == "fan") {
        accepted = r.setFanSpeed((uint8_t)s["speed"].u64());
      } else {
        r.apply((uint8_t)s["bits"].u64());
      }
      EXPECT_EQ(accepted, s["accepted"].boolean) << "step " << steps;
      EXPECT_EQ(r.outputs(), s["outputs"].u64()) << "step " << steps;
      EXPECT_EQ(r.fanSpeed(), s["fanSpeed"].u64()) << "step " << steps;
      steps++;
    }
  }
  EXPECT_EQ(steps, 480u);
}
