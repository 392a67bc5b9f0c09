//! `quartet createsuperuser` and `quartet changepassword`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, bail};
use clap::{Arg, ArgAction, ArgMatches, Command};
use futures_util::FutureExt;

use super::forms::{email_taken, is_valid_username, username_taken};
use quartet_kernel::app::AppCommand;
use quartet_kernel::app::CoreState;
use quartet_kernel::auth::validators::{UserAttributes, validate_password};
use quartet_kernel::auth::{NewUser, create_user};
use quartet_kernel::forms::is_valid_email;
use quartet_kernel::i18n::Tr;

pub(super) fn all() -> Vec<AppCommand> {
    vec![
        AppCommand {
            logs: false,
            command: Command::new("createsuperuser")
                .about("Create an account with every permission")
                .arg(Arg::new("username").long("username").help("The username"))
                .arg(Arg::new("email").long("email").help("The e-mail address"))
                .arg(
                    Arg::new("noinput")
                        .long("noinput")
                        .visible_alias("no-input")
                        .action(ArgAction::SetTrue)
                        .help("Ask nothing; read QUARTET_SUPERUSER_USERNAME, _EMAIL and _PASSWORD"),
                ),
            run: |core, args| async move { createsuperuser(&core, &args, &mut Terminal::new()).await }.boxed(),
        },
        AppCommand {
            logs: false,
            command: Command::new("changepassword")
                .about("Change a user's password")
                .arg(Arg::new("username").required(true).help("The user whose password changes")),
            run: |core, args| async move { changepassword(&core, &args, &mut Terminal::new()).await }.boxed(),
        },
    ]
}

/// Questions asked on a terminal (or of a test).
pub(crate) trait Prompt: Send {
    /// Asks for a visible answer.
    fn ask(&mut self, question: &str) -> anyhow::Result<String>;
    /// Asks for a hidden answer.
    fn ask_secret(&mut self, question: &str) -> anyhow::Result<String>;
    /// Tells something.
    fn say(&mut self, text: &str);
}

/// Standard input and output; passwords are hidden on a terminal and read as lines from a pipe.
pub(crate) struct Terminal;

impl Terminal {
    fn new() -> Self {
        Self
    }

    fn read_line(&mut self) -> anyhow::Result<String> {
        match std::io::stdin().lock().lines().next() {
            Some(line) => Ok(line?.trim_end_matches('\r').to_owned()),
            None => bail!("standard input ended before the question was answered"),
        }
    }
}

impl Prompt for Terminal {
    fn ask(&mut self, question: &str) -> anyhow::Result<String> {
        print!("{question}");
        std::io::stdout().flush()?;
        self.read_line()
    }

    fn ask_secret(&mut self, question: &str) -> anyhow::Result<String> {
        if std::io::stdin().is_terminal() { Ok(rpassword::prompt_password(question)?) } else { self.ask(question) }
    }

    fn say(&mut self, text: &str) {
        println!("{text}");
    }
}

fn english(core: &CoreState) -> Tr {
    core.tr("en")
}

async fn username_problem(core: &CoreState, username: &str) -> anyhow::Result<Option<String>> {
    if username.is_empty() {
        return Ok(Some("This field cannot be blank.".into()));
    }
    if username.chars().count() > 150 || !is_valid_username(username) {
        return Ok(Some(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.".into(),
        ));
    }
    if username_taken(core, username).await? {
        return Ok(Some("That username is already taken.".into()));
    }
    Ok(None)
}

async fn email_problem(core: &CoreState, email: &str) -> anyhow::Result<Option<String>> {
    if email.is_empty() {
        return Ok(None);
    }
    if !is_valid_email(email) {
        return Ok(Some("Enter a valid email address.".into()));
    }
    if email_taken(core, email, None).await? {
        return Ok(Some("Email already in use.".into()));
    }
    Ok(None)
}

pub(crate) async fn createsuperuser(
    core: &CoreState,
    args: &ArgMatches,
    prompt: &mut dyn Prompt,
) -> anyhow::Result<()> {
    let tr = english(core);
    let min = core.settings.auth.password_min_length;
    let flag = |name: &str| args.get_one::<String>(name).cloned();
    let new = if args.get_flag("noinput") {
        let username = flag("username")
            .or_else(|| std::env::var("QUARTET_SUPERUSER_USERNAME").ok())
            .context("--noinput needs --username or QUARTET_SUPERUSER_USERNAME")?;
        if let Some(problem) = username_problem(core, &username).await? {
            bail!("{problem}");
        }
        let email = flag("email").or_else(|| std::env::var("QUARTET_SUPERUSER_EMAIL").ok()).unwrap_or_default();
        if let Some(problem) = email_problem(core, &email).await? {
            bail!("{problem}");
        }
        let password = std::env::var("QUARTET_SUPERUSER_PASSWORD").ok().filter(|p| !p.is_empty());
        if let Some(password) = &password {
            let errors = validate_password(
                password,
                &UserAttributes { username: &username, email: &email, ..Default::default() },
                min,
                &tr,
            );
            if !errors.is_empty() {
                bail!("QUARTET_SUPERUSER_PASSWORD is refused: {}", errors.join(" "));
            }
        }
        NewUser { username, email, password, is_staff: true, is_superuser: true, ..NewUser::default() }
    } else {
        let default_name = std::env::var("USER").unwrap_or_default().to_lowercase();
        let default_name =
            if username_problem(core, &default_name).await?.is_none() { default_name } else { String::new() };
        let username = loop {
            let question = if default_name.is_empty() {
                "Username: ".to_owned()
            } else {
                format!("Username (leave blank to use '{default_name}'): ")
            };
            let answer = match flag("username") {
                Some(u) => u,
                None => prompt.ask(&question)?.trim().to_owned(),
            };
            let answer = if answer.is_empty() { default_name.clone() } else { answer };
            match username_problem(core, &answer).await? {
                None => break answer,
                Some(problem) if flag("username").is_some() => bail!("{problem}"),
                Some(problem) => prompt.say(&format!("Error: {problem}")),
            }
        };
        let email = loop {
            let answer = match flag("email") {
                Some(e) => e,
                None => prompt.ask("Email address: ")?.trim().to_owned(),
            };
            match email_problem(core, &answer).await? {
                None => break answer,
                Some(problem) if flag("email").is_some() => bail!("{problem}"),
                Some(problem) => prompt.say(&format!("Error: {problem}")),
            }
        };
        let password = loop {
            let first = prompt.ask_secret("Password: ")?;
            let second = prompt.ask_secret("Password (again): ")?;
            if first != second {
                prompt.say("Error: Your passwords didn't match.");
                continue;
            }
            if first.trim().is_empty() {
                prompt.say("Error: Blank passwords aren't allowed.");
                continue;
            }
            let errors = validate_password(
                &first,
                &UserAttributes { username: &username, email: &email, ..Default::default() },
                min,
                &tr,
            );
            if errors.is_empty() {
                break first;
            }
            for e in &errors {
                prompt.say(e);
            }
            let bypass = prompt.ask("Bypass password validation and create user anyway? [y/N]: ")?;
            if bypass.trim().eq_ignore_ascii_case("y") {
                break first;
            }
        };
        NewUser { username, email, password: Some(password), is_staff: true, is_superuser: true, ..NewUser::default() }
    };
    let username = new.username.clone();
    create_user(core, new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(target: "quartet::auth", %username, "superuser created");
    prompt.say("Superuser created successfully.");
    Ok(())
}

pub(crate) async fn changepassword(core: &CoreState, args: &ArgMatches, prompt: &mut dyn Prompt) -> anyhow::Result<()> {
    let tr = english(core);
    let username = args.get_one::<String>("username").cloned().unwrap_or_default();
    let Some(user) =
        quartet_kernel::auth::find_for_login(&core.db, &username).await?.filter(|u| u.username == username)
    else {
        bail!("user '{username}' does not exist");
    };
    prompt.say(&format!("Changing password for user '{username}'"));
    let attributes = UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    for _ in 0..3 {
        let first = prompt.ask_secret("Password: ")?;
        let second = prompt.ask_secret("Password (again): ")?;
        if first != second {
            prompt.say("Passwords do not match. Please try again.");
            continue;
        }
        let errors = validate_password(&first, &attributes, core.settings.auth.password_min_length, &tr);
        if !errors.is_empty() {
            prompt.say(&errors.join("\n"));
            continue;
        }
        quartet_kernel::auth::set_password(core, &user, &first).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(target: "quartet::auth", user_id = user.id, "password changed from the command line");
        prompt.say(&format!("Password changed successfully for user '{username}'"));
        return Ok(());
    }
    bail!("Aborting password change for user '{username}' after 3 attempts")
}
