//! Colour when the output is a terminal (and `NO_COLOR` is not set), plain text
//! otherwise.

use std::io::IsTerminal;

use tale::journal::Status;

/// How text is painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Style {
    colour: bool,
}

impl Style {
    /// Colour on standard output's terminal, unless `NO_COLOR` is set; `always`/`never`
    /// force it.
    pub(crate) fn for_stdout(choice: Colour) -> Self {
        let colour = match choice {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Self { colour }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A heading.
    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Something secondary.
    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// Something gone wrong.
    pub(crate) fn bad(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Something gone well.
    pub(crate) fn good(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Something to look at.
    pub(crate) fn warn(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// A status, in the colour of what it means.
    pub(crate) fn status(self, status: Status, text: &str) -> String {
        match status {
            Status::Completed | Status::Resolved => self.good(text),
            Status::Compensated => self.paint("36", text),
            Status::Stuck | Status::Parked => self.bad(text),
            Status::Running => self.warn(text),
            _ => self.dim(text),
        }
    }
}

/// When to paint (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Colour {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A table: a bold header, then one line per row, the columns two spaces apart and as
/// wide as their widest cell, the columns in `right` aligned right. `paint(row, column,
/// cell)` colours a cell (widths count the text, not the colour codes).
pub(crate) fn table<const N: usize>(
    style: Style,
    header: [&str; N],
    lines: &[[String; N]],
    right: &[usize],
    paint: impl Fn(usize, usize, &str) -> String,
) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for line in lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let cells: Vec<String> = header
        .iter()
        .zip(widths)
        .map(|(h, w)| pad(&style.bold(h), w))
        .collect();
    out.push_str(cells.join("  ").trim_end());
    out.push('\n');
    for (row, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(column, (cell, w))| {
                let painted = paint(row, column, cell);
                if right.contains(&column) {
                    format!("{}{painted}", " ".repeat(w - cell.chars().count()))
                } else {
                    pad(&painted, w)
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Pads `text` to `width` columns (characters, ignoring colour codes), on the right.
pub(crate) fn pad(text: &str, width: usize) -> String {
    let shown = visible_len(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(shown)))
}

/// The number of characters a person sees in `text`.
pub(crate) fn visible_len(text: &str) -> usize {
    let mut n = 0;
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\x1b') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

/// `text` cut to `width` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
