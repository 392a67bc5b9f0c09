//! Outgoing e-mail: console (default in development), file, SMTP (TLS) and in-memory backends.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailBackendKind, Settings, SmtpSecurity};

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Sender; `None` uses `email.default_from`.
    pub from: Option<String>,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// Files attached.
    pub attachments: Vec<Attachment>,
}

/// A file attached to an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub filename: String,
    /// MIME type (`application/pdf`).
    pub content_type: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl Email {
    /// A plain-text message to one recipient from the default sender.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, body: impl Into<String>) -> Self {
        Self { from: None, to: vec![to.into()], subject: subject.into(), body: body.into(), attachments: Vec::new() }
    }

    fn to_message(&self, default_from: &str) -> anyhow::Result<Message> {
        let from = self.from.as_deref().unwrap_or(default_from);
        let mut builder = Message::builder()
            .from(from.parse::<Mailbox>().with_context(|| format!("bad sender address {from:?}"))?)
            .subject(one_line(&self.subject));
        for to in &self.to {
            builder = builder.to(to.parse::<Mailbox>().with_context(|| format!("bad recipient address {to:?}"))?);
        }
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(self.body.clone());
        let message = if self.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for a in &self.attachments {
                let content_type = ContentType::parse(&a.content_type)
                    .with_context(|| format!("bad attachment type {:?}", a.content_type))?;
                parts = parts.singlepart(LettreAttachment::new(a.filename.clone()).body(a.bytes.clone(), content_type));
            }
            builder.multipart(parts)
        };
        message.context("building the e-mail")
    }
}

/// Something that delivers e-mail.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Delivers one message.
    async fn send(&self, email: &Email) -> anyhow::Result<()>;
}

/// Builds the mailer chosen by `email.backend`.
pub fn from_settings(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let from = settings.email.default_from.clone();
    from.parse::<Mailbox>().with_context(|| format!("email.default_from {from:?} is not an e-mail address"))?;
    Ok(match settings.email.backend {
        EmailBackendKind::Console => Arc::new(ConsoleMailer { default_from: from }),
        EmailBackendKind::Memory => Arc::new(MemoryMailer::new(from)),
        EmailBackendKind::File => Arc::new(FileMailer { dir: settings.mail_dir(), default_from: from }),
        EmailBackendKind::Smtp => Arc::new(SmtpMailer::new(settings)?),
    })
}

/// A header value on one line: line breaks and other control characters become spaces.
pub fn one_line(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Prints each message on standard output (the development default).
#[derive(Debug)]
pub struct ConsoleMailer {
    default_from: String,
}

#[async_trait::async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        email.to_message(&self.default_from)?; // validates the addresses like the other backends
        let line = "-".repeat(79);
        println!("{line}\n{}\n{line}", console_text(email, &self.default_from));
        Ok(())
    }
}

/// A message as the console backend prints it: one line per header, then the body.
fn console_text(email: &Email, default_from: &str) -> String {
    let mut out = String::new();
    {
        let from = email.from.as_deref().unwrap_or(default_from);
        // A header value is one line: a CR or LF in a name or subject must not start a header.
        out.push_str(&format!("From: {}\n", one_line(from)));
        out.push_str(&format!("To: {}\n", one_line(&email.to.join(", "))));
        out.push_str(&format!("Subject: {}\n", one_line(&email.subject)));
        out.push_str(&format!("Date: {}\n", chrono::Utc::now().to_rfc2822()));
        for a in &email.attachments {
            out.push_str(&format!("Attachment: {} ({}, {} bytes)\n", a.filename, a.content_type, a.bytes.len()));
        }
        out.push('\n');
        out.push_str(&email.body);
    }
    out
}

/// Writes each message as an `.eml` file into a folder.
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    default_from: String,
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let message = email.to_message(&self.default_from)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .with_context(|| format!("creating the mail folder {}", self.dir.display()))?;
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%d-%H%M%S%.6f"),
            crate::crypto::random_string(8, crate::crypto::LOWER_ALNUM)
        );
        let path = self.dir.join(name);
        tokio::fs::write(&path, message.formatted()).await.with_context(|| format!("writing {}", path.display()))
    }
}

/// Sends through an SMTP server, with STARTTLS or TLS.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    default_from: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Configures the transport; no connection is made until the first message.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let e = &settings.email;
        let builder = match e.smtp_security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&e.smtp_host)?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&e.smtp_host)?,
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&e.smtp_host),
        };
        let mut builder = builder.port(e.smtp_port).timeout(Some(Duration::from_secs(e.smtp_timeout_seconds)));
        if !e.smtp_username.is_empty() {
            builder =
                builder.credentials(Credentials::new(e.smtp_username.clone(), e.smtp_password.expose().to_owned()));
        }
        Ok(Self { transport: builder.build(), default_from: e.default_from.clone() })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let message = email.to_message(&self.default_from)?;
        self.transport.send(message).await.context("sending through SMTP")?;
        Ok(())
    }
}

/// Keeps messages in memory so tests can read them.
#[derive(Debug, Clone)]
pub struct MemoryMailer {
    outbox: Arc<Mutex<Vec<Email>>>,
    default_from: String,
}

impl MemoryMailer {
    /// An empty outbox.
    pub fn new(default_from: impl Into<String>) -> Self {
        Self { outbox: Arc::default(), default_from: default_from.into() }
    }

    /// Every message sent so far, with the sender filled in.
    pub fn outbox(&self) -> Vec<Email> {
        self.outbox.lock().expect("outbox lock").clone()
    }

    /// Empties the outbox.
    pub fn clear(&self) {
        self.outbox.lock().expect("outbox lock").clear();
    }
}

#[async_trait::async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, email: &Email) -> anyhow::Result<()> {
        email.to_message(&self.default_from)?;
        let mut stored = email.clone();
        stored.from.get_or_insert_with(|| self.default_from.clone());
        self.outbox.lock().expect("outbox lock").push(stored);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_break_in_a_header_value_never_starts_another_header() {
        let mut email = Email::new("a@example.com", "Mallory\r\nBcc: victim@example.com recommends", "Body\nlines");
        email.from = Some("Site\n <site@example.com>".into());
        let text = console_text(&email, "site@example.com");
        let headers: Vec<&str> = text.split("\n\n").next().unwrap().lines().collect();
        assert_eq!(headers.len(), 4, "{headers:?}");
        assert!(headers.iter().all(|h| !h.starts_with("Bcc")), "{headers:?}");
        assert_eq!(headers[2], "Subject: Mallory  Bcc: victim@example.com recommends");
        assert!(text.ends_with("Body\nlines"), "the body keeps its lines");
    }

    #[tokio::test]
    async fn the_memory_mailer_keeps_messages_and_fills_the_sender() {
        let mailer = MemoryMailer::new("Site <site@example.com>");
        mailer.send(&Email::new("a@example.com", "Hi", "Body")).await.unwrap();
        let outbox = mailer.outbox();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].from.as_deref(), Some("Site <site@example.com>"));
    }

    #[tokio::test]
    async fn bad_addresses_are_refused_by_every_backend() {
        let mailer = MemoryMailer::new("site@example.com");
        assert!(mailer.send(&Email::new("not an address", "Hi", "Body")).await.is_err());
        assert!(mailer.outbox().is_empty());
    }

    #[tokio::test]
    async fn the_file_mailer_writes_eml_files() {
        let dir = std::env::temp_dir()
            .join(format!("quartet-mail-{}", crate::crypto::random_string(8, crate::crypto::LOWER_ALNUM)));
        let mailer = FileMailer { dir: dir.clone(), default_from: "site@example.com".into() };
        let mut email = Email::new("a@example.com", "Invoice", "See attached.");
        email.attachments.push(Attachment {
            filename: "order_1.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF".to_vec(),
        });
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("Subject: Invoice") && text.contains("order_1.pdf"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A minimal SMTP server on a free port: answers one session and returns what it was told.
    /// `starttls` says whether it advertises STARTTLS (it never completes the handshake).
    async fn fake_smtp(starttls: bool) -> (u16, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut transcript = String::new();
            write.write_all(b"220 fake.example ESMTP\r\n").await.unwrap();
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                transcript.push_str(&line);
                transcript.push('\n');
                let reply: &[u8] = if in_data {
                    if line != "." {
                        continue;
                    }
                    in_data = false;
                    b"250 queued\r\n"
                } else {
                    match line.get(..4).unwrap_or_default().to_ascii_uppercase().as_str() {
                        "EHLO" if starttls => b"250-fake.example\r\n250 STARTTLS\r\n",
                        "EHLO" => b"250 fake.example\r\n",
                        "STAR" => b"454 TLS not available\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    }
                };
                if write.write_all(reply).await.is_err() {
                    break;
                }
            }
            transcript
        });
        (port, server)
    }

    fn smtp_settings(port: u16, security: SmtpSecurity) -> Settings {
        let mut settings = Settings::defaults(crate::config::Profile::Development);
        settings.email.smtp_host = "127.0.0.1".into();
        settings.email.smtp_port = port;
        settings.email.smtp_security = security;
        settings.email.smtp_timeout_seconds = 5;
        settings
    }

    #[tokio::test]
    async fn the_smtp_mailer_delivers_through_a_server() {
        let (port, server) = fake_smtp(false).await;
        let mailer = SmtpMailer::new(&smtp_settings(port, SmtpSecurity::None)).unwrap();
        mailer.send(&Email::new("reader@example.com", "Hello", "Over the wire.")).await.unwrap();
        drop(mailer);
        let transcript = tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
        assert!(transcript.contains("RCPT TO:<reader@example.com>"), "{transcript}");
        assert!(transcript.contains("MAIL FROM:<webmaster@localhost>"), "{transcript}");
        assert!(transcript.contains("Subject: Hello") && transcript.contains("Over the wire."), "{transcript}");
    }

    #[tokio::test]
    async fn starttls_is_required_never_skipped() {
        let (port, server) = fake_smtp(true).await;
        let mailer = SmtpMailer::new(&smtp_settings(port, SmtpSecurity::Starttls)).unwrap();
        let sent = mailer.send(&Email::new("reader@example.com", "Secret", "Not in clear text.")).await;
        assert!(sent.is_err(), "a server that cannot do TLS must not receive the message");
        drop(mailer);
        let transcript = tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
        assert!(transcript.contains("STARTTLS"), "the client asked for TLS: {transcript}");
        assert!(!transcript.contains("MAIL FROM") && !transcript.contains("Not in clear text."), "{transcript}");
    }
}
