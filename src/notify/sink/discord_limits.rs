//! Discord's execute-webhook payload and its documented message limits,
//! enforced on a payload before it is sent: content 2000 characters; at most 10 embeds; per embed title 256,
//! description 4096, 25 fields, field name 256 and value 1024, footer 2048;
//! and all embeds of a message together 6000 characters (title, description,
//! field names and values, footer text). Everything counts characters
//! (Unicode scalar values), never bytes, and cuts end with `…`. The
//! `username` override is cut to 80 characters.

use crate::notify::text::truncate_chars;
use serde::Serialize;

/// The JSON body Discord's "execute webhook" takes (the part we use).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Payload {
    /// Message text (mention); at most 2000 characters.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Overrides the webhook's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Embeds, at most 10.
    pub embeds: Vec<Embed>,
    /// Which mentions may ping.
    pub allowed_mentions: AllowedMentions,
}

/// One embed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Embed {
    /// Title, at most 256 characters.
    pub title: String,
    /// Description, at most 4096 characters.
    pub description: String,
    /// Link of the title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Side colour, 0xRRGGBB.
    pub color: u32,
    /// At most 25 fields.
    pub fields: Vec<Field>,
    /// Footer.
    pub footer: Footer,
    /// ISO 8601 time shown in the footer.
    pub timestamp: String,
}

/// One embed field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    /// At most 256 characters.
    pub name: String,
    /// At most 1024 characters.
    pub value: String,
    /// Shown side by side with other inline fields.
    pub inline: bool,
}

/// Embed footer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Footer {
    /// At most 2048 characters.
    pub text: String,
}

/// `allowed_mentions`: nothing pings unless listed.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct AllowedMentions {
    /// Mention types parsed from content (`everyone` for @here/@everyone).
    pub parse: Vec<&'static str>,
    /// Role ids allowed to ping.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// User ids allowed to ping.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// `content`.
pub const CONTENT: usize = 2000;
/// Embeds per message.
pub const EMBEDS: usize = 10;
/// Embed title.
pub const TITLE: usize = 256;
/// Embed description.
pub const DESCRIPTION: usize = 4096;
/// Fields per embed.
pub const FIELDS: usize = 25;
/// Field name.
pub const FIELD_NAME: usize = 256;
/// Field value.
pub const FIELD_VALUE: usize = 1024;
/// Footer text.
pub const FOOTER: usize = 2048;
/// All embeds together.
pub const TOTAL: usize = 6000;
/// The `username` override of a webhook message.
pub const USERNAME: usize = 80;

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Characters of one embed that count toward [`TOTAL`].
pub fn embed_chars(e: &Embed) -> usize {
    chars(&e.title)
        + chars(&e.description)
        + chars(&e.footer.text)
        + e.fields
            .iter()
            .map(|f| chars(&f.name) + chars(&f.value))
            .sum::<usize>()
}

/// Brings `p` within every limit.
pub fn enforce(p: &mut Payload) {
    truncate_chars(&mut p.content, CONTENT);
    if let Some(u) = &mut p.username {
        truncate_chars(u, USERNAME);
    }
    p.embeds.truncate(EMBEDS);
    for e in &mut p.embeds {
        per_embed(e);
    }
    while total(p) > TOTAL {
        if !shrink_once(p, total(p) - TOTAL) {
            break;
        }
    }
}

fn total(p: &Payload) -> usize {
    p.embeds.iter().map(embed_chars).sum()
}

fn per_embed(e: &mut Embed) {
    truncate_chars(&mut e.title, TITLE);
    truncate_chars(&mut e.description, DESCRIPTION);
    truncate_chars(&mut e.footer.text, FOOTER);
    e.fields.truncate(FIELDS);
    for f in &mut e.fields {
        truncate_chars(&mut f.name, FIELD_NAME);
        truncate_chars(&mut f.value, FIELD_VALUE);
    }
}

/// Removes about `excess` characters from the last embed that still has
/// room to give: first a long footer, then the longest of the biggest field
/// and the description, then whole fields from the end; false when nothing
/// is left to cut.
fn shrink_once(p: &mut Payload, excess: usize) -> bool {
    let Some(e) = p.embeds.iter_mut().rev().find(|e| embed_chars(e) > 0) else {
        return false;
    };
    let footer = chars(&e.footer.text);
    if footer > 128 {
        truncate_chars(&mut e.footer.text, footer.saturating_sub(excess).max(128));
        return true;
    }
    let desc = chars(&e.description);
    let longest = (0..e.fields.len())
        .max_by_key(|&i| chars(&e.fields[i].value))
        .filter(|&i| chars(&e.fields[i].value) > 64);
    match longest {
        Some(i) if chars(&e.fields[i].value) >= desc => {
            let n = chars(&e.fields[i].value);
            truncate_chars(&mut e.fields[i].value, n.saturating_sub(excess).max(64));
        }
        _ if desc > 64 => truncate_chars(&mut e.description, desc.saturating_sub(excess).max(64)),
        _ if e.fields.pop().is_some() => {}
        _ if chars(&e.title) > 64 => truncate_chars(&mut e.title, 64),
        _ => {
            e.footer.text.clear();
            e.description.clear();
            e.title.clear();
        }
    }
    true
}
