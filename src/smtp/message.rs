//! The text of an alert mail (RFC 5322) as SMTP's DATA carries it: Date, From, To and
//! Subject headers, a plain-text body, CRLF line ends, dot-stuffing (RFC 5321 4.5.2) and
//! the final `.` line.

use std::time::{SystemTime, UNIX_EPOCH};

/// One mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// When the event happened (the Date header).
    pub date: SystemTime,
}

/// The DATA payload of `mail`, terminating `.` line included.
pub fn data(mail: &Mail) -> Vec<u8> {
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&header_text(value));
        out.push_str("\r\n");
    };
    header("Date", &date(mail.date));
    header("From", &mail.from);
    header("To", &mail.to.join(", "));
    header("Subject", &mail.subject);
    header("MIME-Version", "1.0");
    header("Content-Type", "text/plain; charset=utf-8");
    header("Content-Transfer-Encoding", "8bit");
    out.push_str("\r\n");
    for line in mail.body.lines() {
        // A line of its own "." would end the mail early: the receiver strips one dot.
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out.into_bytes()
}

/// A header value on one line of ASCII: a line break would start a header (or the body)
/// of the sender's choosing, and raw 8-bit headers are not plain RFC 5322.
fn header_text(value: &str) -> String {
    value.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect()
}

/// `t` as an RFC 5322 date in UTC: `Wed, 25 Nov 2026 16:29:05 +0000`.
pub fn date(t: SystemTime) -> String {
    // A clock before 1970 is a broken clock; 1970 says so plainly.
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = secs / 86400;
    let (year, month, day) = civil(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let of_day = secs % 86400;
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Year, month (1..12) and day (1..31) of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn dates() {
        assert_eq!(date(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(date(at(1_795_624_145)), "Wed, 25 Nov 2026 16:29:05 +0000");
        assert_eq!(date(at(4_133_980_799)), "Fri, 31 Dec 2100 23:59:59 +0000");
        assert_eq!(date(at(4_107_542_399)), "Sun, 28 Feb 2100 23:59:59 +0000");
        assert_eq!(date(UNIX_EPOCH - Duration::from_secs(5)), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn headers_body_and_dot_stuffing() {
        let mail = Mail {
            from: "keeplite@edge-a".into(),
            to: vec!["noc@example.org".into(), "ops@example.org".into()],
            subject: "[edge-a] VRRP Instance gw - Entering MASTER state\r\nBcc: evil@example.org".into(),
            body: "first\n.\n..two\r\nlast é".into(),
            date: at(0),
        };
        let text = String::from_utf8(data(&mail)).unwrap();
        assert_eq!(
            text,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n\
             From: keeplite@edge-a\r\n\
             To: noc@example.org, ops@example.org\r\n\
             Subject: [edge-a] VRRP Instance gw - Entering MASTER state??Bcc: evil@example.org\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\
             \r\n\
             first\r\n\
             ..\r\n\
             ...two\r\n\
             last é\r\n\
             .\r\n"
        );
    }
}
