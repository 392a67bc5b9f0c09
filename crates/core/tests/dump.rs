//! `dumpdata` and `loaddata`: one JSON format for every model, portable between engines.

use indicatif::ProgressBar;
use quartet_core::auth::NewUser;
use quartet_core::auth::models::{group, group_permission, user_group};
use quartet_core::models::{DumpOptions, dump_data, load_data, parse_dump};
use quartet_testkit::{Backend, TestSite, dbtest, service_url};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

async fn populate(site: &TestSite) {
    site.create_user("ana", "correct-horse-battery").await;
    site.create(NewUser {
        username: "root".into(),
        email: "root@example.com".into(),
        is_staff: true,
        is_superuser: true,
        ..NewUser::default()
    })
    .await;
    let editors =
        group::ActiveModel { name: Set("Editors".into()), ..Default::default() }.insert(&site.core.db).await.unwrap();
    user_group::ActiveModel { user_id: Set(1), group_id: Set(editors.id), ..Default::default() }
        .insert(&site.core.db)
        .await
        .unwrap();
    group_permission::ActiveModel {
        group_id: Set(editors.id),
        permission_id: Set("accounts.change_user".into()),
        ..Default::default()
    }
    .insert(&site.core.db)
    .await
    .unwrap();
}

async fn dump(site: &TestSite, options: &DumpOptions) -> String {
    let mut out = Vec::new();
    dump_data(&site.core.db, &site.core.registry.models, options, &mut out, &ProgressBar::hidden()).await.unwrap();
    String::from_utf8(out).unwrap()
}

dbtest! {
    async fn a_dump_loads_into_an_empty_site_and_dumps_the_same(site) {
        populate(&site).await;
        let first = dump(&site, &DumpOptions::default()).await;
        let rows = parse_dump(&first).unwrap();
        assert!(rows.iter().any(|r| r.model == "accounts.user" && r.fields["username"] == "ana"));
        assert!(rows.iter().any(|r| r.model == "accounts.permission"), "permissions move too");

        let target = TestSite::builder().start(site.backend()).await;
        let report = load_data(&target.core.db, &target.core.registry.models, rows, &ProgressBar::hidden()).await.unwrap();
        assert!(report.objects > 10);
        assert_eq!(dump(&target, &DumpOptions::default()).await, first);
        let next = target.create_user("newcomer", "correct-horse-battery").await;
        assert!(next.id > 2, "ids continue after the loaded ones");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(quartet_postgres), ignore = "set QUARTET_TEST_DATABASE_URL to run it")]
async fn a_sqlite_dump_loads_into_postgresql_with_identical_rows() {
    if service_url("QUARTET_TEST_DATABASE_URL").is_none() {
        return;
    }
    let sqlite = TestSite::builder().start(Backend::Sqlite).await;
    populate(&sqlite).await;
    let from_sqlite = dump(&sqlite, &DumpOptions::default()).await;
    let postgres = TestSite::builder().start(Backend::Postgres).await;
    load_data(
        &postgres.core.db,
        &postgres.core.registry.models,
        parse_dump(&from_sqlite).unwrap(),
        &ProgressBar::hidden(),
    )
    .await
    .unwrap();
    assert_eq!(dump(&postgres, &DumpOptions::default()).await, from_sqlite, "PostgreSQL holds the same rows");
    let back = TestSite::builder().start(Backend::Sqlite).await;
    let from_postgres = dump(&postgres, &DumpOptions::default()).await;
    load_data(&back.core.db, &back.core.registry.models, parse_dump(&from_postgres).unwrap(), &ProgressBar::hidden())
        .await
        .unwrap();
    assert_eq!(dump(&back, &DumpOptions::default()).await, from_sqlite, "and back again");
}

dbtest! {
    async fn dumps_select_apps_and_models_and_refuse_unknown_labels(site) {
        populate(&site).await;
        let users = parse_dump(&dump(&site, &DumpOptions { labels: vec!["accounts.user".into()], ..DumpOptions::default() }).await).unwrap();
        assert!(users.iter().all(|r| r.model == "accounts.user") && users.len() == 2);
        let without = parse_dump(&dump(&site, &DumpOptions { labels: vec!["accounts".into()], exclude: vec!["accounts.permission".into()], ..DumpOptions::default() }).await).unwrap();
        assert!(!without.iter().any(|r| r.model == "accounts.permission"));
        let mut out = Vec::new();
        let err = dump_data(&site.core.db, &site.core.registry.models, &DumpOptions { labels: vec!["blog".into()], ..DumpOptions::default() }, &mut out, &ProgressBar::hidden()).await.unwrap_err();
        assert_eq!(err.to_string(), "No installed app with label 'blog'.");
    }
}

dbtest! {
    async fn a_broken_fixture_loads_nothing(site) {
        let bad = r#"[{"model": "accounts.group", "pk": 1, "fields": {"name": "A"}}, {"model": "nowhere.thing", "pk": 1, "fields": {}}]"#;
        let err = load_data(&site.core.db, &site.core.registry.models, parse_dump(bad).unwrap(), &ProgressBar::hidden()).await.unwrap_err();
        assert_eq!(err.to_string(), "Invalid model identifier: 'nowhere.thing'");
        let bad_row = r#"[{"model": "accounts.group", "pk": 1, "fields": {"name": "A"}}, {"model": "accounts.user", "pk": 5, "fields": {"username": "x"}}]"#;
        assert!(load_data(&site.core.db, &site.core.registry.models, parse_dump(bad_row).unwrap(), &ProgressBar::hidden()).await.is_err());
        assert_eq!(dump(&site, &DumpOptions { labels: vec!["accounts.group".into()], ..DumpOptions::default() }).await, "[]\n", "the transaction was rolled back");
        let syntax = parse_dump("[{\"model\": ").unwrap_err().to_string();
        assert!(syntax.contains("line 1"), "{syntax}");
    }
}
