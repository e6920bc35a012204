//! `nestegg demo` data: every account type, two years of activity, monthly snapshots.

use std::collections::HashSet;

use nestegg::state::AppState;
use nestegg_persistence::testing::{Backend, TestDb};

use crate::helpers::test_settings;

async fn demo_creates_a_realistic_user(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let state = AppState::new(&db.db, &test_settings(&db.url)).unwrap();
    let login = state.demo.create(&state.auth).await.unwrap();
    assert!(login.transactions > 1000, "{}", login.transactions);

    let user = state
        .auth
        .login(&login.username, &login.password, None)
        .await
        .unwrap();
    let user_id = state
        .auth
        .authenticate(&user.access_token)
        .await
        .unwrap()
        .user_id;
    let accounts = state.accounts.list(user_id).await.unwrap();
    let types: HashSet<_> = accounts.iter().map(|a| a.account_type).collect();
    assert_eq!(types.len(), 8, "every account type");
    let institutions: HashSet<_> = accounts
        .iter()
        .filter_map(|a| a.institution_name.clone())
        .collect();
    assert!(institutions.len() >= 5, "{institutions:?}");

    let today = state.clock.today();
    for account in &accounts {
        let snapshots = state
            .accounts
            .snapshots(user_id, account.id, None, None)
            .await
            .unwrap();
        assert!(
            snapshots.len() >= 24,
            "{} has {} snapshots",
            account.name,
            snapshots.len()
        );
        let last = snapshots.last().unwrap();
        assert!(
            last.date <= today,
            "{} has a point after today",
            account.name
        );
        assert_eq!(last.balance, account.current_balance, "{}", account.name);
        assert_eq!(account.opened_on, snapshots[0].date, "{}", account.name);
    }
    // The weekly trend follows the transactions' dates: no two weeks of the last quarter alike.
    let weekly = state
        .reports
        .history_json(
            user_id,
            Some(today - chrono::Days::new(91)),
            Some(today),
            Some("week"),
            |points| {
                points
                    .iter()
                    .map(|p| p.net_worth.to_string())
                    .collect::<Vec<_>>()
            },
        )
        .await
        .unwrap();
    let weekly: Vec<String> = serde_json::from_str(&weekly).unwrap();
    assert!(weekly.len() >= 13, "{weekly:?}");
    assert!(
        weekly.windows(2).all(|w| w[0] != w[1]),
        "a flat week in {weekly:?}"
    );
    let overview = state.reports.overview(user_id).await.unwrap().overview;
    assert!(overview.net_worth.value() > rust_decimal::Decimal::ZERO);
    let from = today - chrono::Days::new(730);
    let flow = state
        .reports
        .cashflow(user_id, Some(from), Some(today), Some("month"))
        .await
        .unwrap();
    assert!(
        flow.cashflow.groups.len() >= 24,
        "{} months",
        flow.cashflow.groups.len()
    );
    assert!(flow.cashflow.income.value() > flow.cashflow.expenses.value());

    let portfolios = state.portfolios.list(user_id).await.unwrap();
    assert_eq!(portfolios.len(), 1);
    assert!(portfolios[0].is_default);
    let items = state
        .portfolios
        .items(user_id, portfolios[0].id)
        .await
        .unwrap();
    assert_eq!(items.len(), 6);
    let summary = state
        .portfolios
        .summary(user_id, portfolios[0].id)
        .await
        .unwrap();
    let types: HashSet<&str> = summary
        .held
        .holdings
        .iter()
        .map(|(h, _)| h.investment_type.as_str())
        .collect();
    assert_eq!(
        types,
        HashSet::from(["stock", "etf", "mutual_fund", "crypto"])
    );
    assert!(summary.summary.unpriced.is_empty());
    assert!(summary.summary.total_value.value() > rust_decimal::Decimal::ZERO);
    let first = items[0].investment_id;
    let prices = state
        .investments
        .prices(user_id, first, None, None)
        .await
        .unwrap();
    assert!(prices.len() >= 365, "{} prices", prices.len());
    assert_eq!(prices.last().unwrap().date, today);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_user_has_every_account_type_two_years_of_data_and_consistent_snapshots_sqlite() {
    demo_creates_a_realistic_user(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_user_has_every_account_type_two_years_of_data_and_consistent_snapshots_postgres()
{
    demo_creates_a_realistic_user(Backend::Postgres).await;
}
