//! The portfolio repository on both backends: the default flag, items valued at their
//! security's price with the portfolio's total kept in step, trades and their history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{cost, dec, m, price, qty};
use nestegg_domain::portfolio::{Position, Side};
use nestegg_domain::{
    CurrencyCode, DomainError, InvestmentType, Money, Percentage, Quantity, UnitCost,
};
use nestegg_persistence::both_backends;
use nestegg_persistence::testing::TestDb;
use nestegg_persistence::{SqlInvestmentRepository, SqlPortfolioRepository};
use nestegg_ports::{
    Conflict, InvestmentRepository, ItemUpdate, NewInvestment, NewItem, NewPortfolio, NewTrade,
    Portfolio, PortfolioItem, PortfolioRepository, PortfolioUpdate, PricePoint, RepoError, Trade,
    TypeTargets,
};
use uuid::Uuid;

fn at(minutes: i64) -> DateTime<Utc> {
    common::now() + Duration::minutes(minutes)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

/// A private security of `owner`, priced when `current` is given.
async fn security(db: &TestDb, owner: Uuid, symbol: &str, current: Option<&str>) -> Uuid {
    let repo = SqlInvestmentRepository::new(db.db.clone());
    let id = Uuid::now_v7();
    repo.create(
        NewInvestment {
            id,
            owner: Some(owner),
            symbol: symbol.into(),
            name: format!("{symbol} Inc."),
            investment_type: InvestmentType::Stock,
            exchange: None,
            market_cap: None,
            pe_ratio: None,
            dividend_yield: None,
            expense_ratio: None,
            sector: Some("Tech".into()),
            industry: None,
            country: Some("US".into()),
        },
        common::now(),
    )
    .await
    .unwrap();
    if let Some(p) = current {
        set_price(db, owner, id, p).await;
    }
    id
}

async fn set_price(db: &TestDb, owner: Uuid, id: Uuid, p: &str) {
    SqlInvestmentRepository::new(db.db.clone())
        .put_price(
            owner,
            id,
            PricePoint {
                date: day(20),
                price: price(p),
            },
            common::now(),
        )
        .await
        .unwrap();
}

async fn create(
    repo: &SqlPortfolioRepository,
    user: Uuid,
    name: &str,
    is_default: bool,
    now: DateTime<Utc>,
) -> Portfolio {
    repo.create(
        NewPortfolio {
            id: Uuid::now_v7(),
            user_id: user,
            name: name.into(),
            description: None,
            currency: CurrencyCode::USD,
            is_default,
            target_allocation: TypeTargets::new(),
        },
        now,
    )
    .await
    .unwrap()
}

fn new_item(investment_id: Uuid, quantity: &str, average_cost: &str) -> NewItem {
    NewItem {
        id: Uuid::now_v7(),
        investment_id,
        position: Position {
            quantity: qty(quantity),
            average_cost: cost(average_cost),
        },
        target_allocation: None,
    }
}

fn new_trade(investment_id: Uuid, side: Side, quantity: &str, p: &str, fee: &str) -> NewTrade {
    NewTrade {
        id: Uuid::now_v7(),
        investment_id,
        side,
        quantity: qty(quantity),
        price: price(p),
        fee: m(fee),
        date: day(21),
    }
}

/// Asserts the user's portfolios by name with their default flags, in list order.
async fn assert_defaults(repo: &SqlPortfolioRepository, user: Uuid, expected: &[(&str, bool)]) {
    let list = repo.list(user).await.unwrap();
    let actual: Vec<(&str, bool)> = list
        .iter()
        .map(|p| (p.name.as_str(), p.is_default))
        .collect();
    assert_eq!(actual, expected);
}

/// What an item holds and is worth: its quantity, average cost and current value.
fn held(item: &PortfolioItem) -> (Quantity, UnitCost, Option<Money>) {
    (item.quantity, item.average_cost, item.current_value)
}

/// The portfolio repository and a user, ada, with no portfolio yet.
async fn ada(db: &TestDb) -> (SqlPortfolioRepository, Uuid) {
    let repo = SqlPortfolioRepository::new(db.db.clone());
    (repo, common::make_user(db, "ada").await.id)
}

/// Ada's empty portfolio "Main", created at minute 0, and the repository it lives in.
struct Main {
    repo: SqlPortfolioRepository,
    user: Uuid,
    p: Portfolio,
}

impl Main {
    async fn new(db: &TestDb) -> Self {
        let (repo, user) = ada(db).await;
        let p = create(&repo, user, "Main", false, at(0)).await;
        Self { repo, user, p }
    }

    async fn add_item(&self, item: NewItem, minute: i64) -> Result<PortfolioItem, RepoError> {
        self.repo
            .add_item(self.user, self.p.id, item, at(minute))
            .await
    }

    async fn trade(&self, trade: NewTrade, minute: i64) -> Result<Trade, RepoError> {
        self.repo
            .trade(self.user, self.p.id, trade, at(minute))
            .await
    }

    async fn items(&self) -> Vec<PortfolioItem> {
        self.repo.items(self.user, self.p.id).await.unwrap()
    }

    async fn total_value(&self) -> Money {
        self.repo
            .get(self.user, self.p.id)
            .await
            .unwrap()
            .total_value
    }
}

both_backends!(
    the_first_portfolio_is_the_default_and_a_later_default_takes_the_flag,
    |db: TestDb| async move {
        let (repo, user) = ada(&db).await;
        let first = create(&repo, user, "Retirement", false, at(0)).await;
        assert!(first.is_default);
        assert_eq!(first.total_value, Money::ZERO);
        let second = create(&repo, user, "Brokerage", false, at(1)).await;
        assert!(!second.is_default);
        assert_defaults(&repo, user, &[("Retirement", true), ("Brokerage", false)]).await;
        let third = create(&repo, user, "Alpha", true, at(2)).await;
        assert!(third.is_default);
        // The default first, then by name.
        assert_defaults(
            &repo,
            user,
            &[("Alpha", true), ("Brokerage", false), ("Retirement", false)],
        )
        .await;
        assert_eq!(repo.get(user, first.id).await.unwrap().updated_at, at(2));
    }
);

both_backends!(
    an_update_changes_the_fields_given_and_can_take_the_default,
    |db: TestDb| async move {
        let (repo, user) = ada(&db).await;
        create(&repo, user, "Main", false, at(0)).await;
        let other = create(&repo, user, "Other", false, at(1)).await;
        let targets: TypeTargets = [(InvestmentType::Stock, Percentage::new(dec("62.5")).unwrap())]
            .into_iter()
            .collect();
        let updated = repo
            .update(
                user,
                other.id,
                PortfolioUpdate {
                    name: Some("Renamed".into()),
                    description: Some(Some("long term".into())),
                    make_default: true,
                    target_allocation: Some(targets.clone()),
                },
                at(5),
            )
            .await
            .unwrap();
        assert_eq!(updated.name, "Renamed");
        assert_eq!(updated.updated_at, at(5));
        let stored = repo.get(user, other.id).await.unwrap();
        assert_eq!(stored, updated);
        assert_eq!(stored.description.as_deref(), Some("long term"));
        assert_eq!(stored.target_allocation, targets);
        assert_defaults(&repo, user, &[("Renamed", true), ("Main", false)]).await;
    }
);

both_backends!(
    deleting_the_default_promotes_the_oldest_remaining_portfolio,
    |db: TestDb| async move {
        let (repo, user) = ada(&db).await;
        let first = create(&repo, user, "First", false, at(0)).await;
        create(&repo, user, "Second", false, at(1)).await;
        create(&repo, user, "Third", false, at(2)).await;
        repo.delete(user, first.id, at(3)).await.unwrap();
        assert!(matches!(
            repo.get(user, first.id).await,
            Err(RepoError::NotFound)
        ));
        assert_defaults(&repo, user, &[("Second", true), ("Third", false)]).await;
    }
);

both_backends!(
    items_are_valued_at_their_securitys_price_and_keep_the_total_exact,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let acme = security(&db, main.user, "ACME", Some("12.5")).await;
        let unpriced = security(&db, main.user, "NOPR", None).await;

        let item = main.add_item(new_item(acme, "10", "10"), 1).await.unwrap();
        assert_eq!(item.quantity, qty("10"));
        assert_eq!(item.current_value, Some(m("125")));
        assert_eq!(item.unrealized_gain_loss, Some(m("25")));
        assert_eq!(item.unrealized_gain_loss_percent, Some(dec("25")));
        let second = main
            .add_item(new_item(unpriced, "3", "1.25"), 1)
            .await
            .unwrap();
        assert_eq!(second.current_value, None);
        assert_eq!(main.total_value().await, m("125"));

        let err = main
            .add_item(new_item(acme, "1", "1"), 2)
            .await
            .unwrap_err();
        assert!(
            matches!(err, RepoError::Conflict(Conflict::PortfolioItem)),
            "{err:?}"
        );

        let (repo, user, p) = (&main.repo, main.user, &main.p);
        let updated = repo
            .update_item(
                user,
                p.id,
                item.id,
                ItemUpdate {
                    quantity: Some(qty("0.3333")),
                    average_cost: Some(cost("9.99")),
                    target_allocation: Some(Some(Percentage::new(dec("40")).unwrap())),
                },
                at(3),
            )
            .await
            .unwrap();
        assert_eq!(updated.quantity, qty("0.3333"));
        assert_eq!(updated.current_value, Some(m("4.1662")));
        assert_eq!(updated.unrealized_gain_loss, Some(m("0.8366")));
        assert_eq!(
            updated.target_allocation,
            Some(Percentage::new(dec("40")).unwrap())
        );
        assert_eq!(main.total_value().await, m("4.1662"));

        repo.delete_item(user, p.id, item.id, at(4)).await.unwrap();
        let left = main.items().await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, second.id);
        assert_eq!(main.total_value().await, Money::ZERO);
        assert!(matches!(
            repo.delete_item(user, p.id, item.id, at(5)).await,
            Err(RepoError::NotFound)
        ));
    }
);

both_backends!(
    an_item_of_another_users_private_security_is_not_found,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let bob = common::make_user(&db, "bob").await.id;
        let bobs = security(&db, bob, "BOBS", Some("5")).await;
        assert!(matches!(
            main.add_item(new_item(bobs, "1", "1"), 1).await,
            Err(RepoError::NotFound)
        ));
        assert!(matches!(
            main.trade(new_trade(bobs, Side::Buy, "1", "5", "0"), 1)
                .await,
            Err(RepoError::NotFound)
        ));
        assert!(main.items().await.is_empty());
    }
);

both_backends!(
    trades_move_the_item_realize_gains_and_refuse_to_oversell,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let acme = security(&db, main.user, "ACME", Some("21")).await;

        // Buying into nothing opens an item at cost, fee included, valued at today's price.
        let bought = main
            .trade(new_trade(acme, Side::Buy, "4", "20", "2"), 1)
            .await
            .unwrap();
        assert_eq!(bought.realized_gain, None);
        let item = bought.item.unwrap();
        assert_eq!(held(&item), (qty("4"), cost("20.5"), Some(m("84"))));
        assert_eq!(item.unrealized_gain_loss, Some(m("2")));
        assert_eq!(item.unrealized_gain_loss_percent, Some(dec("2.4390")));
        assert_eq!(main.total_value().await, m("84"));

        let sold = main
            .trade(new_trade(acme, Side::Sell, "1", "25", "1"), 2)
            .await
            .unwrap();
        assert_eq!(sold.realized_gain, Some(m("3.5")));
        let item = sold.item.unwrap();
        assert_eq!(held(&item), (qty("3"), cost("20.5"), Some(m("63"))));
        assert_eq!(main.total_value().await, m("63"));

        let err = main
            .trade(new_trade(acme, Side::Sell, "3.5", "25", "0"), 3)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &err,
                RepoError::Rule(DomainError::InsufficientQuantity { held, requested })
                    if held == "3" && requested == "3.5"
            ),
            "{err:?}"
        );
        let trades = main.repo.trades(main.user, main.p.id, None, 10).await;
        assert_eq!(trades.unwrap().len(), 2);
        assert_eq!(main.items().await[0].quantity, qty("3"));

        let closed = main
            .trade(new_trade(acme, Side::Sell, "3", "22", "0"), 4)
            .await
            .unwrap();
        assert_eq!(closed.realized_gain, Some(m("4.5")));
        assert_eq!(closed.item, None);
        assert!(main.items().await.is_empty());
        assert_eq!(main.total_value().await, Money::ZERO);

        let holdings = main.repo.holdings(main.user, main.p.id).await.unwrap();
        assert!(holdings.holdings.is_empty());
        assert_eq!(holdings.realized_gain_loss, m("8"));
    }
);

both_backends!(
    the_trade_history_pages_newest_first_after_a_cursor,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let acme = security(&db, main.user, "ACME", Some("10")).await;
        let mut ids = Vec::new();
        for d in 1..=5 {
            let trade = NewTrade {
                date: day(d),
                ..new_trade(acme, Side::Buy, "1", "10", "0")
            };
            ids.push(main.trade(trade, 1).await.unwrap().id);
        }
        let page = |after| main.repo.trades(main.user, main.p.id, after, 2);
        let first = page(None).await.unwrap();
        // One row beyond the limit tells the caller there is a next page.
        let got: Vec<Uuid> = first.iter().map(|t| t.id).collect();
        assert_eq!(got, [ids[4], ids[3], ids[2]]);
        assert_eq!(first[0].date, day(5));
        assert_eq!(first[0].price, price("10"));
        assert_eq!(first[0].item, None);
        let next = page(Some((day(4), ids[3]))).await.unwrap();
        let got: Vec<Uuid> = next.iter().map(|t| t.id).collect();
        assert_eq!(got, [ids[2], ids[1], ids[0]]);
        let last = page(Some((day(2), ids[1]))).await.unwrap();
        assert_eq!(last.len(), 1);
    }
);

both_backends!(
    holdings_list_the_items_with_their_securities_and_the_realized_sum,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let acme = security(&db, main.user, "ACME", Some("10")).await;
        let beta = security(&db, main.user, "BETA", None).await;
        for (minute, trade) in [
            (1, new_trade(acme, Side::Buy, "10", "8", "0")),
            (2, new_trade(acme, Side::Sell, "4", "9.25", "0.5")),
        ] {
            main.trade(trade, minute).await.unwrap();
        }
        main.add_item(new_item(beta, "2", "3"), 3).await.unwrap();
        let h = main.repo.holdings(main.user, main.p.id).await.unwrap();
        assert_eq!(h.portfolio.id, main.p.id);
        assert_eq!(h.portfolio.total_value, m("60"));
        // 4 × 9.25 − 0.5 − 4 × 8
        assert_eq!(h.realized_gain_loss, m("4.5"));
        assert_eq!(h.holdings.len(), 2);
        let (first, name) = &h.holdings[0];
        assert_eq!(name, "ACME Inc.");
        assert_eq!(first.symbol, "ACME");
        assert_eq!(first.investment_type, InvestmentType::Stock);
        assert_eq!(first.sector.as_deref(), Some("Tech"));
        assert_eq!(first.position.quantity, qty("6"));
        assert_eq!(first.position.average_cost, cost("8"));
        assert_eq!(first.price, Some(price("10")));
        let (second, _) = &h.holdings[1];
        assert_eq!(second.investment_id, beta);
        assert_eq!(second.price, None);
    }
);

both_backends!(
    another_users_portfolio_is_not_found_by_any_method,
    |db: TestDb| async move {
        let main = Main::new(&db).await;
        let (repo, ada, p) = (&main.repo, main.user, &main.p);
        let bob = common::make_user(&db, "bob").await.id;
        let acme = security(&db, ada, "ACME", Some("10")).await;
        let item = main.add_item(new_item(acme, "1", "1"), 1).await.unwrap();
        let shared = security(&db, bob, "BOBS", Some("10")).await;
        let nf = |r: Result<(), RepoError>, what: &str| {
            assert!(matches!(r, Err(RepoError::NotFound)), "{what}: {r:?}");
        };
        nf(repo.get(bob, p.id).await.map(drop), "get");
        nf(
            repo.update(bob, p.id, PortfolioUpdate::default(), at(2))
                .await
                .map(drop),
            "update",
        );
        nf(repo.items(bob, p.id).await.map(drop), "items");
        nf(
            repo.add_item(bob, p.id, new_item(shared, "1", "1"), at(2))
                .await
                .map(drop),
            "add_item",
        );
        nf(
            repo.update_item(bob, p.id, item.id, ItemUpdate::default(), at(2))
                .await
                .map(drop),
            "update_item",
        );
        nf(
            repo.delete_item(bob, p.id, item.id, at(2)).await,
            "delete_item",
        );
        nf(
            repo.trade(
                bob,
                p.id,
                new_trade(shared, Side::Buy, "1", "1", "0"),
                at(2),
            )
            .await
            .map(drop),
            "trade",
        );
        nf(repo.trades(bob, p.id, None, 10).await.map(drop), "trades");
        nf(repo.holdings(bob, p.id).await.map(drop), "holdings");
        nf(repo.delete(bob, p.id, at(2)).await, "delete");
        assert!(repo.list(bob).await.unwrap().is_empty());
        // Nothing of Ada's moved.
        let stored = repo.get(ada, p.id).await.unwrap();
        assert_eq!(stored.updated_at, at(1));
        assert_eq!(stored.total_value, m("10"));
        assert_eq!(repo.items(ada, p.id).await.unwrap(), [item]);
    }
);
