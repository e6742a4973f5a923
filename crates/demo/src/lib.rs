//! `tradetrail demo`: a realistic simulated trading day, recorded through the library.
//!
//! Five traders run four strategies over twenty instruments on two accounts. Each
//! signal may be filtered; recommendations may be suppressed; risk evaluates every
//! recommendation and rejects some; large orders wait for an operator's approval, which
//! may be refused or expire; orders are accepted or rejected by the venue, then filled
//! in one or several parts, modified, cancelled or left to expire; every fill moves a
//! position. Around them: parameter and configuration changes, a trading-mode change,
//! a kill switch engaged and released, a broker disconnect with orders recovered after
//! the reconnect, and periodic account and position snapshots.
//!
//! Event content is a function of the seed alone: the same `--seed` gives the same
//! events in the same order (only `ts_recorded`, and therefore the hashes, differ).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::prelude::*;
use serde_json::{json, Value};
use tradetrail_journal::Ticket;
use tradetrail_model::Event;

use tradetrail_core::{DataDir, Recorder, Result, SessionConfig, TimeConfig};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// About how many events to record (the last story is finished, so a few more).
    pub events: u64,
    /// Seed of the simulation.
    pub seed: u64,
    /// UTC date of the simulated day, as ns since the epoch of its midnight.
    pub day_start_ns: i64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            events: 100_000,
            seed: 42,
            // 2026-11-26 (a Thursday), 00:00 UTC.
            day_start_ns: 1_795_651_200 * 1_000_000_000,
        }
    }
}

/// What the demo recorded.
#[derive(Debug, Clone, Default)]
pub struct DemoSummary {
    /// Events recorded (not counting duplicates).
    pub events: u64,
    /// Events by type.
    pub by_type: BTreeMap<String, u64>,
    /// The first and last seq written.
    pub first_seq: u64,
    /// The last seq written.
    pub last_seq: u64,
    /// Events whose `event_id` was already in the journal (nothing written).
    pub duplicates: u64,
}

const INSTRUMENTS: &[(&str, f64, &str)] = &[
    ("AAPL.XNAS", 228.5, "USD"),
    ("MSFT.XNAS", 418.2, "USD"),
    ("NVDA.XNAS", 146.9, "USD"),
    ("AMZN.XNAS", 201.3, "USD"),
    ("GOOGL.XNAS", 176.4, "USD"),
    ("META.XNAS", 563.1, "USD"),
    ("TSLA.XNAS", 339.6, "USD"),
    ("JPM.XNYS", 243.8, "USD"),
    ("XOM.XNYS", 120.4, "USD"),
    ("KO.XNYS", 62.9, "USD"),
    ("SPY.ARCX", 593.2, "USD"),
    ("QQQ.XNAS", 505.7, "USD"),
    ("IWM.ARCX", 233.1, "USD"),
    ("ESZ6.XCME", 5987.25, "USD"),
    ("NQZ6.XCME", 21034.5, "USD"),
    ("SAP.XETR", 224.6, "EUR"),
    ("ASML.XAMS", 652.3, "EUR"),
    ("SIE.XETR", 187.9, "EUR"),
    ("EURUSD.IDEALPRO", 1.0542, "USD"),
    ("GLD.ARCX", 245.3, "USD"),
];

/// A broker's commission on one fill, in the instrument's currency, to the cent, after
/// a retail broker's published fixed rates: US shares 0.0035 a share (at least 0.35,
/// at most 1% of the value); European shares 0.05% of the value (at least 1.25);
/// CME futures 2.25 a contract (broker, exchange and clearing); spot FX 0.2 bps of the
/// value (at least 2.00). FX at a share rate would charge 35 bps: 525 USD on 150,000 EUR.
fn commission(instrument: &str, qty: Decimal, price: Decimal) -> Decimal {
    let value = (qty * price).abs();
    let fee = if instrument.ends_with(".XCME") {
        qty * Decimal::new(225, 2)
    } else if instrument.ends_with(".IDEALPRO") {
        (value * Decimal::new(2, 5)).max(Decimal::from(2))
    } else if instrument.ends_with(".XETR") || instrument.ends_with(".XAMS") {
        (value * Decimal::new(5, 4)).max(Decimal::new(125, 2))
    } else {
        (qty * Decimal::new(35, 4))
            .max(Decimal::new(35, 2))
            .min(value * Decimal::new(1, 2))
    };
    fee.round_dp(2)
}

/// About how long the waits inside one story add up to, unscaled (measured over a
/// 100,000-event day: 10.5 s; an approval waits up to a minute).
const STORY_WAIT_NS: i64 = 12_000_000_000;

const STRATEGIES: &[(&str, &str, &str)] = &[
    // (strategy, trader, account)
    ("momentum_v3", "T-01", "U1234567"),
    ("mean_rev_2", "T-02", "U1234567"),
    ("pairs_stat_arb", "T-03", "U7654321"),
    ("vwap_exec", "T-04", "U7654321"),
];
const OPERATORS: &[&str] = &["operator:carol", "operator:dave", "operator:erin"];
const MANUAL_TRADER: &str = "T-05";

struct Sim {
    rng: ChaCha8Rng,
    ids: ChaCha8Rng,
    now: i64,
    step: i64,
    /// What the waits inside a story are scaled by (at most 1), so that a busy day's
    /// stories still fit the session: their waits add up to about
    /// [`STORY_WAIT_NS`] each.
    wait_scale: f64,
    prices: Vec<f64>,
    counter: u64,
    positions: BTreeMap<(String, String), (Decimal, Decimal)>,
    kill_switch: bool,
    /// Stories left until an engaged kill switch is released.
    kill_remaining: u32,
    open_orders: Vec<(String, usize, usize)>,
}

impl Sim {
    fn uuid(&mut self) -> uuid::Uuid {
        let bytes: [u8; 16] = self.ids.gen();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}", self.counter)
    }

    fn tick(&mut self, max_ms: i64) -> i64 {
        let max_ms = ((max_ms as f64 * self.wait_scale) as i64).max(1);
        self.now += self.rng.gen_range(1..=max_ms) * 1_000_000 + self.rng.gen_range(0..1_000_000);
        self.now
    }

    fn ev(&mut self, ty: &str, source: &str, actor: &str) -> Event {
        let id = self.uuid();
        Event::new(ty, self.now, source, actor).with_event_id(id)
    }

    fn price(&mut self, inst: usize) -> Decimal {
        let p = &mut self.prices[inst];
        *p *= 1.0 + self.rng.gen_range(-0.0015..0.0015);
        let scale = if *p < 10.0 { 4 } else { 2 };
        // Prices are generated as floats by the simulation only; what is recorded is a
        // decimal rounded to the instrument's tick, and all arithmetic after is decimal.
        Decimal::from_f64(*p)
            .unwrap_or(Decimal::ONE)
            .round_dp(scale)
    }

    /// One story: from a signal to positions, or an operational event.
    fn story(&mut self, out: &mut Vec<Event>) {
        self.now += self.step;
        if self.kill_switch {
            self.kill_remaining = self.kill_remaining.saturating_sub(1);
            if self.kill_remaining == 0 {
                self.kill_switch(out);
                return;
            }
        }
        let roll: f64 = self.rng.gen();
        if roll < 0.86 {
            self.signal_story(out);
        } else if roll < 0.92 {
            self.snapshots(out);
        } else if roll < 0.945 {
            self.param_change(out);
        } else if roll < 0.955 {
            self.config_change(out);
        } else if roll < 0.958 {
            self.mode_change(out);
        } else if roll < 0.9595 {
            self.kill_switch(out);
        } else if roll < 0.961 {
            self.disconnect(out);
        } else {
            let t = self.rng.gen_range(0..STRATEGIES.len());
            let trader = STRATEGIES[t].1;
            let ty = if self.rng.gen_bool(0.5) {
                "user.login"
            } else {
                "user.logout"
            };
            let e = self
                .ev(ty, "auth_service", &format!("trader:{trader}"))
                .with_trader(trader)
                .with_data("client", "desk-ui 4.2");
            out.push(e);
        }
    }

    fn signal_story(&mut self, out: &mut Vec<Event>) {
        let s = self.rng.gen_range(0..STRATEGIES.len());
        let (strategy, trader, account) = STRATEGIES[s];
        let inst = self.rng.gen_range(0..INSTRUMENTS.len());
        let (instrument, _, _currency) = INSTRUMENTS[inst];
        let algo = format!("algo:{strategy}");
        let px = self.price(inst);
        let long = self.rng.gen_bool(0.55);
        let signal_id = self.next_id("S");
        let strength = Decimal::new(self.rng.gen_range(10..100), 2);
        let e = self
            .ev("signal.generated", "signal_engine", &algo)
            .with_strategy(strategy)
            .with_trader(trader)
            .with_instrument(instrument)
            .with_entity("signal", &signal_id)
            .with_data("direction", if long { "long" } else { "short" })
            .with_data("strength", strength.to_string())
            .with_data("price", px.to_string());
        out.push(e);
        self.tick(20);
        if self.rng.gen_bool(0.12) {
            let reason = [
                "below_threshold",
                "stale_market_data",
                "instrument_halted",
                "outside_session",
            ][self.rng.gen_range(0..4)];
            let e = self
                .ev("signal.filtered", "signal_engine", &algo)
                .with_strategy(strategy)
                .with_trader(trader)
                .with_instrument(instrument)
                .with_entity("signal", &signal_id)
                .with_ref("signal_id", signal_id.as_str())
                .with_data("reason", reason);
            out.push(e);
            return;
        }
        let rec_id = self.next_id("R");
        let futures = instrument.ends_with(".XCME");
        let fx = instrument.contains("EURUSD");
        let qty = if futures {
            Decimal::from(self.rng.gen_range(1..20))
        } else if fx {
            Decimal::from(self.rng.gen_range(1..20) * 50_000)
        } else {
            Decimal::from(self.rng.gen_range(1..60) * 25)
        };
        let side = if long { "buy" } else { "sell" };
        let e = self
            .ev("recommendation.generated", "portfolio_manager", &algo)
            .with_strategy(strategy)
            .with_trader(trader)
            .with_account(account)
            .with_instrument(instrument)
            .with_entity("recommendation", &rec_id)
            .with_ref("signal_id", signal_id.as_str())
            .with_data("side", side)
            .with_data("quantity", qty.to_string())
            .with_data("price", px.to_string());
        out.push(e);
        self.tick(30);
        if self.rng.gen_bool(0.08) {
            let reason = ["position_limit_near", "duplicate_signal", "cooldown_active"]
                [self.rng.gen_range(0..3)];
            let e = self
                .ev("recommendation.suppressed", "portfolio_manager", &algo)
                .with_strategy(strategy)
                .with_trader(trader)
                .with_instrument(instrument)
                .with_entity("recommendation", &rec_id)
                .with_ref("recommendation_id", rec_id.as_str())
                .with_data("reason", reason);
            out.push(e);
            return;
        }
        let multiplier = if futures {
            Decimal::from(50)
        } else {
            Decimal::ONE
        };
        let notional = qty * px * multiplier;
        let eval_id = self.next_id("E");
        let rejected = self.kill_switch || self.rng.gen_bool(0.07);
        let reason = if self.kill_switch {
            "kill_switch_engaged"
        } else {
            [
                "max_position_exceeded",
                "notional_limit",
                "concentration_limit",
                "loss_limit_reached",
            ][self.rng.gen_range(0..4)]
        };
        let e = self
            .ev("risk.evaluated", "risk_engine", "system")
            .with_strategy(strategy)
            .with_trader(trader)
            .with_account(account)
            .with_instrument(instrument)
            .with_entity("evaluation", &eval_id)
            .with_ref("recommendation_id", rec_id.as_str())
            .with_data("decision", if rejected { "rejected" } else { "approved" })
            .with_data("notional", notional.round_dp(2).to_string())
            .with_data(
                "checks",
                json!({"max_position": !rejected || reason != "max_position_exceeded", "notional": notional < Decimal::from(2_000_000)}),
            );
        out.push(e);
        self.tick(5);
        if rejected {
            let e = self
                .ev("risk.rejected", "risk_engine", "system")
                .with_strategy(strategy)
                .with_trader(trader)
                .with_account(account)
                .with_instrument(instrument)
                .with_entity("evaluation", &eval_id)
                .with_ref("recommendation_id", rec_id.as_str())
                .with_ref("evaluation_id", eval_id.as_str())
                .with_data("reason", reason);
            out.push(e);
            return;
        }
        let mut approval_id = None;
        if notional > Decimal::from(250_000) {
            let aid = self.next_id("A");
            let expires = self.now + 120 * 1_000_000_000;
            let e = self
                .ev(
                    "approval.requested",
                    "approval_service",
                    &format!("trader:{trader}"),
                )
                .with_trader(trader)
                .with_account(account)
                .with_instrument(instrument)
                .with_entity("approval", &aid)
                .with_ref("recommendation_id", rec_id.as_str())
                .with_ref("evaluation_id", eval_id.as_str())
                .with_data("reason", "notional above 250000")
                .with_data("expires_at", tradetrail_model::format_time(expires));
            out.push(e);
            self.tick(60_000);
            let r: f64 = self.rng.gen();
            let op = OPERATORS[self.rng.gen_range(0..OPERATORS.len())];
            let (ty, actor) = if r < 0.8 {
                ("approval.approved", op)
            } else if r < 0.9 {
                ("approval.rejected", op)
            } else {
                ("approval.expired", "system")
            };
            let mut e = self
                .ev(ty, "approval_service", actor)
                .with_trader(trader)
                .with_account(account)
                .with_instrument(instrument)
                .with_entity("approval", &aid)
                .with_ref("approval_id", aid.as_str())
                .with_ref("recommendation_id", rec_id.as_str());
            if ty == "approval.rejected" {
                e = e.with_data("reason", "size too large into the close");
            } else if ty == "approval.approved" {
                e = e.with_data("note", "checked against desk limits");
            }
            out.push(e);
            if ty != "approval.approved" {
                return;
            }
            approval_id = Some(aid);
        }
        self.order_story(
            out,
            s,
            inst,
            &rec_id,
            &eval_id,
            approval_id,
            &signal_id,
            side,
            qty,
            px,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn order_story(
        &mut self,
        out: &mut Vec<Event>,
        s: usize,
        inst: usize,
        rec_id: &str,
        eval_id: &str,
        approval_id: Option<String>,
        signal_id: &str,
        side: &str,
        qty: Decimal,
        px: Decimal,
    ) {
        let (strategy, trader, account) = STRATEGIES[s];
        let (instrument, _, currency) = INSTRUMENTS[inst];
        let order_id = self.next_id("O");
        let actor = if self.rng.gen_bool(0.7) {
            format!("algo:{strategy}")
        } else {
            format!("trader:{trader}")
        };
        let market = self.rng.gen_bool(0.35);
        let limit_px = px;
        let mut sub = self
            .ev("order.submitted", "oms", &actor)
            .with_strategy(strategy)
            .with_trader(trader)
            .with_account(account)
            .with_instrument(instrument)
            .with_entity("order", &order_id)
            .with_ref("recommendation_id", rec_id)
            .with_ref("evaluation_id", eval_id)
            .with_ref("signal_id", signal_id)
            .with_data("side", side)
            .with_data("quantity", qty.to_string())
            .with_data("order_type", if market { "market" } else { "limit" })
            .with_data("time_in_force", if market { "ioc" } else { "day" })
            .with_data("idempotency_key", format!("{strategy}-{order_id}"));
        if !market {
            sub = sub.with_data("price", limit_px.to_string());
        }
        if let Some(a) = &approval_id {
            sub = sub.with_ref("approval_id", a.as_str());
        }
        if instrument.ends_with(".XCME") {
            // The contract multiplier, for the books (docs/books.md); equities and FX are 1.
            sub = sub.with_data("multiplier", "50");
        }
        out.push(sub);
        let order_ev = |sim: &mut Sim, ty: &str, source: &str, actor: &str| {
            sim.ev(ty, source, actor)
                .with_strategy(strategy)
                .with_trader(trader)
                .with_account(account)
                .with_instrument(instrument)
                .with_entity("order", &order_id)
                .with_ref("order_id", order_id.as_str())
        };
        self.tick(3);
        if self.rng.gen_bool(0.03) {
            let (reason, code) = [
                ("insufficient margin", "201"),
                ("price outside limit band", "163"),
                ("order size exceeds venue max", "110"),
            ][self.rng.gen_range(0..3)];
            let e = order_ev(self, "order.rejected", "broker_gateway", "system")
                .with_data("reason", reason)
                .with_data("error_code", code)
                .with_data("rejection_source", "venue");
            out.push(e);
            return;
        }
        let venue_id = format!("{}", 9_000_000 + self.counter);
        let e = order_ev(self, "order.accepted", "broker_gateway", "system")
            .with_data("venue_order_id", venue_id);
        out.push(e);
        self.tick(50);
        // What happens next.
        let fate: f64 = self.rng.gen();
        let (fill_fraction, end) = if market || fate < 0.62 {
            (Decimal::ONE, None)
        } else if fate < 0.80 {
            (
                Decimal::new(self.rng.gen_range(2..8), 1),
                Some("order.cancelled"),
            )
        } else if fate < 0.95 {
            (Decimal::ZERO, Some("order.cancelled"))
        } else {
            (Decimal::ZERO, Some("order.expired"))
        };
        if !market && self.rng.gen_bool(0.05) {
            let e =
                order_ev(self, "order.modified", "oms", &actor).with_data("price", px.to_string());
            out.push(e);
            self.tick(100);
        }
        let mut to_fill = (qty * fill_fraction).round();
        if end.is_some() && to_fill >= qty {
            // A small order's partial fill can round up to the whole order; a cancelled
            // or expired order leaves something unfilled.
            to_fill = (qty - Decimal::ONE).max(Decimal::ZERO);
        }
        let parts = if to_fill.is_zero() {
            0
        } else {
            self.rng.gen_range(1..=4).min(to_fill.to_u32().unwrap_or(1))
        };
        let mut cum = Decimal::ZERO;
        for part in 0..parts {
            let this = if part + 1 == parts {
                to_fill - cum
            } else {
                (to_fill / Decimal::from(parts)).floor().max(Decimal::ONE)
            };
            if this <= Decimal::ZERO {
                break;
            }
            cum += this;
            let fill_px = self.price(inst);
            let slip = if px.is_zero() {
                Decimal::ZERO
            } else {
                ((fill_px - px) / px * Decimal::from(10_000)).round_dp(2)
            };
            let slip = if side == "buy" { slip } else { -slip };
            let trade_id = format!("{}.{}", 100_000_000 + self.counter, part);
            let commission = commission(INSTRUMENTS[inst].0, this, fill_px);
            let e = order_ev(self, "order.filled", "broker_gateway", "system")
                .with_data("fill_qty", this.to_string())
                .with_data("fill_price", fill_px.to_string())
                .with_data("trade_id", trade_id)
                .with_data("cum_qty", cum.to_string())
                .with_data("leaves_qty", (qty - cum).to_string())
                .with_data("commission", commission.to_string())
                .with_data("currency", currency)
                .with_data(
                    "liquidity",
                    if market || self.rng.gen_bool(0.3) {
                        "taker"
                    } else {
                        "maker"
                    },
                )
                .with_data("slippage_bps", slip.to_string());
            out.push(e);
            self.position_update(out, s, inst, &order_id, side, this, fill_px);
            self.tick(200);
        }
        match end {
            Some(ty) => {
                let actor_end = if ty == "order.expired" {
                    "system".to_string()
                } else {
                    actor.clone()
                };
                let src = if ty == "order.expired" {
                    "broker_gateway"
                } else {
                    "oms"
                };
                let mut e = order_ev(self, ty, src, &actor_end);
                if ty == "order.cancelled" {
                    e = e.with_data(
                        "reason",
                        if cum.is_zero() {
                            "price moved away"
                        } else {
                            "remaining quantity no longer wanted"
                        },
                    );
                }
                out.push(e);
            }
            None => {
                if self.rng.gen_bool(0.02) {
                    self.open_orders.push((order_id.clone(), s, inst));
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn position_update(
        &mut self,
        out: &mut Vec<Event>,
        s: usize,
        inst: usize,
        order_id: &str,
        side: &str,
        qty: Decimal,
        px: Decimal,
    ) {
        let (strategy, trader, account) = STRATEGIES[s];
        let (instrument, _, currency) = INSTRUMENTS[inst];
        let signed = if side == "buy" { qty } else { -qty };
        let key = (account.to_string(), instrument.to_string());
        let (old_qty, old_avg) = self
            .positions
            .get(&key)
            .copied()
            .unwrap_or((Decimal::ZERO, Decimal::ZERO));
        let new_qty = old_qty + signed;
        let mut realized = Decimal::ZERO;
        let new_avg =
            if old_qty.is_zero() || old_qty.is_sign_positive() == signed.is_sign_positive() {
                if new_qty.is_zero() {
                    Decimal::ZERO
                } else {
                    ((old_qty * old_avg + signed * px) / new_qty).round_dp(6)
                }
            } else {
                let closed = signed.abs().min(old_qty.abs());
                realized = (px - old_avg)
                    * closed
                    * if old_qty.is_sign_positive() {
                        Decimal::ONE
                    } else {
                        -Decimal::ONE
                    };
                if new_qty.is_zero() {
                    Decimal::ZERO
                } else if new_qty.is_sign_positive() == old_qty.is_sign_positive() {
                    old_avg
                } else {
                    px
                }
            };
        self.positions.insert(key, (new_qty, new_avg));
        let ty = if old_qty.is_zero() {
            "position.opened"
        } else if new_qty.is_zero() {
            "position.closed"
        } else {
            "position.updated"
        };
        let pos_id = format!("P-{account}-{instrument}");
        let e = self
            .ev(ty, "position_keeper", "system")
            .with_strategy(strategy)
            .with_trader(trader)
            .with_account(account)
            .with_instrument(instrument)
            .with_entity("position", &pos_id)
            .with_ref("order_id", order_id)
            .with_data("quantity", new_qty.to_string())
            .with_data("avg_price", new_avg.to_string())
            .with_data("realized_pnl", realized.round_dp(2).to_string())
            .with_data("currency", currency);
        out.push(e);
    }

    fn snapshots(&mut self, out: &mut Vec<Event>) {
        for account in ["U1234567", "U7654321"] {
            let cash = Decimal::from(self.rng.gen_range(4_000_000..6_000_000));
            let e = self
                .ev("account.snapshot", "broker_gateway", "system")
                .with_account(account)
                .with_entity("account", account)
                .with_data("currency", "USD")
                .with_data("cash", cash.to_string())
                .with_data(
                    "equity",
                    (cash + Decimal::from(self.rng.gen_range(-50_000..250_000))).to_string(),
                )
                .with_data("buying_power", (cash * Decimal::from(4)).to_string())
                .with_data(
                    "margin_used",
                    Decimal::from(self.rng.gen_range(100_000..900_000)).to_string(),
                );
            out.push(e);
        }
        let positions: Vec<_> = self
            .positions
            .iter()
            .filter(|(_, (q, _))| !q.is_zero())
            .map(|(k, v)| (k.clone(), *v))
            .take(5)
            .collect();
        for ((account, instrument), (q, avg)) in positions {
            let e = self
                .ev("position.snapshot", "position_keeper", "system")
                .with_account(&account)
                .with_instrument(&instrument)
                .with_entity("position", &format!("P-{account}-{instrument}"))
                .with_data("quantity", q.to_string())
                .with_data("avg_price", avg.to_string());
            out.push(e);
        }
    }

    fn param_change(&mut self, out: &mut Vec<Event>) {
        let s = self.rng.gen_range(0..STRATEGIES.len());
        let (strategy, trader, _) = STRATEGIES[s];
        let (name, old, new) = [
            ("entry_threshold", json!("0.65"), json!("0.70")),
            ("max_position", json!(5000), json!(4000)),
            ("lookback_minutes", json!(30), json!(45)),
            ("stop_loss_bps", json!(80), json!(60)),
        ][self.rng.gen_range(0..4)]
        .clone();
        let e = self
            .ev(
                "param.changed",
                "strategy_host",
                &format!("trader:{trader}"),
            )
            .with_strategy(strategy)
            .with_trader(trader)
            .with_entity("strategy", strategy)
            .with_data("name", name)
            .with_data("old_value", old)
            .with_data("new_value", new)
            .with_data("reason", "intraday volatility regime change");
        out.push(e);
    }

    fn config_change(&mut self, out: &mut Vec<Event>) {
        let op = OPERATORS[self.rng.gen_range(0..OPERATORS.len())];
        let e = self
            .ev("config.changed", "ops_console", op)
            .with_entity("config", "risk_limits")
            .with_data("name", "risk.max_order_notional")
            .with_data("old_value", json!("2000000"))
            .with_data("new_value", json!("1500000"))
            .with_data("reason", "CRO instruction after morning review");
        out.push(e);
    }

    fn mode_change(&mut self, out: &mut Vec<Event>) {
        let op = OPERATORS[self.rng.gen_range(0..OPERATORS.len())];
        let (old, new) = if self.rng.gen_bool(0.5) {
            ("live", "reduce_only")
        } else {
            ("reduce_only", "live")
        };
        let e = self
            .ev("trading.mode_changed", "ops_console", op)
            .with_entity("desk", "equities")
            .with_data("old_mode", old)
            .with_data("new_mode", new)
            .with_data("reason", "scheduled risk review");
        out.push(e);
    }

    fn kill_switch(&mut self, out: &mut Vec<Event>) {
        let op = OPERATORS[self.rng.gen_range(0..OPERATORS.len())];
        let engage = !self.kill_switch;
        self.kill_switch = engage;
        if engage {
            // Released again after a while, as a desk would once the cause is found.
            self.kill_remaining = self.rng.gen_range(20..60);
        }
        let e = self
            .ev("trading.kill_switch", "risk_engine", op)
            .with_entity("desk", "equities")
            .with_data("engaged", engage)
            .with_data("scope", "desk:equities")
            .with_data(
                "reason",
                if engage {
                    "runaway order rate on momentum_v3"
                } else {
                    "root cause fixed, limits reset"
                },
            );
        out.push(e);
    }

    fn disconnect(&mut self, out: &mut Vec<Event>) {
        let e = self
            .ev("connection.lost", "broker_gateway", "system")
            .with_entity("session", "IBKR-FIX-1")
            .with_data("reason", "heartbeat timeout")
            .with_data("venue", "IBKR");
        out.push(e);
        self.tick(4_000);
        let e = self
            .ev("connection.restored", "broker_gateway", "system")
            .with_entity("session", "IBKR-FIX-1")
            .with_data("downtime_ms", 4_000)
            .with_data("venue", "IBKR");
        out.push(e);
        let open = std::mem::take(&mut self.open_orders);
        for (order_id, s, inst) in open {
            let (strategy, trader, account) = STRATEGIES[s];
            let e = self
                .ev("order.recovered", "broker_gateway", "system")
                .with_strategy(strategy)
                .with_trader(trader)
                .with_account(account)
                .with_instrument(INSTRUMENTS[inst].0)
                .with_entity("order", &order_id)
                .with_ref("order_id", order_id.as_str())
                .with_data("reason", "status resynchronised after reconnect");
            out.push(e);
        }
    }
}

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// What an earlier demo left in the journal's last records (at most 1000, read once):
/// the last producer event's time (the journal's own records, checkpoints among them,
/// carry the wall clock's) and the largest `<PREFIX>-<n>` entity id it gave, so a new
/// day's ids continue after it.
fn earlier_day(recorder: &Recorder, already: u64) -> (Option<i64>, u64) {
    let mut last_ts = None;
    let mut last_id = 0;
    for seq in (1..already).rev().take(1000) {
        let Ok(line) = recorder.read_line(seq) else {
            continue;
        };
        let Ok(v) = tradetrail_journal::RecordView::parse(&line) else {
            continue;
        };
        if last_ts.is_none() && !v.ty.starts_with("journal.") {
            last_ts = v.ts_event;
        }
        let n = v.entity_id.as_deref().and_then(|id| {
            let (prefix, n) = id.split_once('-')?;
            let plain = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_uppercase());
            plain.then(|| n.parse::<u64>().ok()).flatten()
        });
        last_id = last_id.max(n.unwrap_or(0));
    }
    (last_ts, last_id)
}

/// The midnight (UTC) of the day after `last_ts`, skipping weekends; `default` when
/// the journal holds no earlier day.
fn next_session_day(last_ts: Option<i64>, default: i64) -> i64 {
    let Some(ts) = last_ts else {
        return default;
    };
    let mut day = ts.div_euclid(NS_PER_DAY) + 1;
    // 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays, 5 and 6 at weekends.
    while (day + 3).rem_euclid(7) >= 5 {
        day += 1;
    }
    (day * NS_PER_DAY).max(default)
}

/// Runs the simulated day into `recorder`. `progress` is called with events recorded so far.
pub fn run_demo(
    recorder: &Recorder,
    opts: &DemoOptions,
    progress: &dyn Fn(u64),
) -> Result<DemoSummary> {
    let already = recorder.journal().status()?.records;
    // Ids depend on the journal's size too, so a second demo into the same journal
    // records a new day instead of being deduplicated away.
    let id_seed = opts.seed ^ already.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // A journal that already holds a day records the next trading day, with ids that
    // continue after the earlier ones (O-<n> never repeats).
    let (last_ts, last_id) = earlier_day(recorder, already);
    let day_start_ns = next_session_day(last_ts, opts.day_start_ns);
    let day_len: i64 = 6 * 3600 + 1800; // 14:30 to 21:00 UTC, the US session
    let stories = (opts.events / 9).max(1) as i64;
    // Half the session goes to the steps between stories, the other half (with a
    // margin) to the waits inside them: a day of any size ends by the close.
    let waits = (stories as f64) * STORY_WAIT_NS as f64;
    let wait_scale = ((day_len as f64 * 1e9 * 0.45) / waits).min(1.0);
    let mut sim = Sim {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        ids: ChaCha8Rng::seed_from_u64(id_seed),
        now: day_start_ns + (14 * 3600 + 1800) * 1_000_000_000,
        step: day_len * 1_000_000_000 / stories / 2,
        wait_scale,
        prices: INSTRUMENTS.iter().map(|i| i.1).collect(),
        counter: last_id,
        positions: BTreeMap::new(),
        kill_switch: false,
        kill_remaining: 0,
        open_orders: Vec::new(),
    };
    let mut summary = DemoSummary {
        first_seq: already,
        ..DemoSummary::default()
    };
    let mut story = Vec::new();
    let mut outstanding: Vec<Ticket> = Vec::new();
    let mut submitted = 0u64;
    sim.push_start(&mut story);
    while submitted < opts.events || !story.is_empty() {
        if story.is_empty() {
            sim.story(&mut story);
        }
        let entries = story
            .iter()
            .map(|e| {
                *summary.by_type.entry(e.event_type.clone()).or_default() += 1;
                recorder.prepare(e, None)
            })
            .collect();
        submitted += story.len() as u64;
        story.clear();
        // Sequence now, acknowledge in groups: one write and one sync cover many stories.
        outstanding.extend(recorder.journal().submit_batch(entries)?);
        if outstanding.len() >= 512 {
            settle(recorder, &mut outstanding, &mut summary)?;
            progress(summary.events);
        }
    }
    settle(recorder, &mut outstanding, &mut summary)?;
    progress(summary.events);
    Ok(summary)
}

impl Sim {
    fn push_start(&mut self, out: &mut Vec<Event>) {
        let e = self
            .ev("system.started", "trading_engine", "system")
            .with_entity("process", "engine-1")
            .with_data("version", env!("CARGO_PKG_VERSION"))
            .with_data("instruments", INSTRUMENTS.len() as u64)
            .with_data(
                "strategies",
                Value::from(STRATEGIES.iter().map(|s| s.0).collect::<Vec<_>>()),
            )
            .with_data("manual_trader", MANUAL_TRADER);
        out.push(e);
    }
}

fn settle(
    recorder: &Recorder,
    outstanding: &mut Vec<Ticket>,
    summary: &mut DemoSummary,
) -> Result<()> {
    for t in outstanding.drain(..) {
        let r = recorder.wait(t)?;
        if r.duplicate {
            summary.duplicates += 1;
        } else {
            summary.events += 1;
            summary.last_seq = summary.last_seq.max(r.seq);
        }
    }
    Ok(())
}

/// The trading sessions of the demo's venues, for the `[time]` of a data directory
/// the demo creates (docs/configuration.md): the US equity venues 09:30–16:00 New
/// York, CME Globex 17:00–16:00 Chicago, Xetra and Euronext Amsterdam 09:00–17:30,
/// and IDEALPRO FX rolling at 17:00 New York. The zone stays UTC and no default
/// session is set, so the demo's reports are in UTC days unless `--session` or
/// `--tz` is given.
pub fn demo_time() -> TimeConfig {
    let s =
        |venue: &str, zone: &str, open: &str, close: &str, day_ends: Option<&str>| SessionConfig {
            venue: venue.into(),
            zone: zone.into(),
            open: open.into(),
            close: close.into(),
            day_ends: day_ends.map(Into::into),
        };
    TimeConfig {
        sessions: vec![
            s("XNYS", "America/New_York", "09:30", "16:00", None),
            s("XNAS", "America/New_York", "09:30", "16:00", None),
            s("ARCX", "America/New_York", "09:30", "16:00", None),
            s("XCME", "America/Chicago", "17:00", "16:00", None),
            s("XETR", "Europe/Berlin", "09:00", "17:30", None),
            s("XAMS", "Europe/Amsterdam", "09:00", "17:30", None),
            s(
                "IDEALPRO",
                "America/New_York",
                "17:00",
                "17:00",
                Some("17:00"),
            ),
        ],
        ..TimeConfig::default()
    }
}

/// Writes [`demo_time`] into the configuration of a data directory the demo has just
/// created (checked before it is written).
pub fn write_demo_time(dir: &DataDir) -> Result<()> {
    let mut cfg = dir.load_config()?;
    cfg.time = demo_time();
    dir.save_config(&cfg)
}

#[cfg(test)]
mod tests {
    use tradetrail_core::Config;

    #[test]
    fn the_demo_sessions_are_valid() {
        let mut c = Config::new("o/1".into());
        c.time = super::demo_time();
        let parsed = Config::parse(&c.to_toml()).unwrap();
        assert_eq!(parsed, c);
        let s = parsed.time.settings().unwrap();
        assert_eq!(s.sessions.len(), 7);
        assert!(
            s.default_days().is_utc(),
            "the demo's reports stay in UTC days"
        );
        assert_eq!(s.session("IDEALPRO").unwrap().day_ends, 17 * 3600);
    }
}
