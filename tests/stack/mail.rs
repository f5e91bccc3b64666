//! The mail `scripts/dev` delivers: `target/mail/<id>.eml`, written by the mailer it runs on
//! DynamoDB Local's stream.

use std::path::Path;
use std::time::{Duration, Instant};

/// The link to `page` (e.g. `/reset-password`) in the newest mail to `email`, waiting for the
/// mail up to 20 s. Panics, naming what it saw, when none arrives.
pub async fn mailed_link(root: &Path, email: &str, page: &str) -> String {
    let directory = root.join("target/mail");
    let recipient = format!("\r\nTo: {email}\r\n");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let newest = std::fs::read_dir(&directory)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                // Only whole messages: the mailer writes `.<id>.eml.partial`, then renames it.
                let name = entry.file_name();
                let name = name.to_str()?;
                if name.starts_with('.') || !name.ends_with(".eml") {
                    return None;
                }
                let modified = entry.metadata().ok()?.modified().ok()?;
                let message = std::fs::read_to_string(entry.path()).ok()?;
                let link = link_in(&message, page)?;
                message.contains(&recipient).then_some((modified, link))
            })
            .max_by_key(|(modified, _)| *modified);
        if let Some((_, link)) = newest {
            return link;
        }
        if Instant::now() > deadline {
            panic!(
                "no mail to {email} with a {page} link in {} after 20 s",
                directory.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first `http…/<page>#token=…` link in a message's plain-text part.
fn link_in(message: &str, page: &str) -> Option<String> {
    message
        .split(|character: char| character.is_whitespace() || matches!(character, '<' | '>' | '"'))
        .find(|word| {
            word.starts_with("http")
                && word
                    .split_once(page)
                    .is_some_and(|(_, rest)| rest.starts_with("#token="))
        })
        .map(str::to_owned)
}
