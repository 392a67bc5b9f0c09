//! Pages of a list, as Django's `Paginator`: a lenient [`Paginator::get_page`] for HTML lists
//! (a bad page number shows the first page, one past the end the last) and a strict
//! [`Paginator::page`] for APIs, plus the links the `pagination.html` partial renders.
//!
//! ```
//! use quartet_kernel::pagination::Paginator;
//!
//! let page = Paginator::new(10, 3).get_page(Some("9"));
//! assert_eq!((page.number, page.num_pages), (4, 4));
//! assert_eq!((page.offset(), page.limit()), (9, 3));
//! ```

use std::fmt;

/// Why a strict page request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// The page number is not a whole number.
    NotAnInteger,
    /// The page number is below 1 or past the last page.
    Empty,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAnInteger => "That page number is not an integer",
            Self::Empty => "That page contains no results",
        })
    }
}

impl std::error::Error for PageError {}

/// Splits `count` items into pages of `per_page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paginator {
    count: u64,
    per_page: u64,
}

impl Paginator {
    /// A paginator over `count` items (`per_page` is at least 1).
    pub fn new(count: u64, per_page: u64) -> Self {
        Self { count, per_page: per_page.max(1) }
    }

    /// The number of pages; an empty list still has one (empty) page.
    pub fn num_pages(&self) -> u64 {
        self.count.div_ceil(self.per_page).max(1)
    }

    /// The page named by `raw` (the `page` query parameter), or an error.
    pub fn page(&self, raw: Option<&str>) -> Result<Page, PageError> {
        let number = match raw.map(str::trim) {
            None | Some("") => 1,
            Some(text) => text.parse::<u64>().map_err(|_| {
                // "-1" is a number, only out of range.
                if text.parse::<i64>().is_ok() { PageError::Empty } else { PageError::NotAnInteger }
            })?,
        };
        if number == 0 || number > self.num_pages() {
            return Err(PageError::Empty);
        }
        Ok(self.make(number))
    }

    /// The page number to read when the count is not known yet (a list that reads its page and
    /// its count in one statement): 1 for a missing or non-number `raw`, and `u64::MAX` for a
    /// number below 1, which is past any end, so [`Paginator::get_page`] then names the last
    /// page. A number past the end is only found to be so once the count is known.
    pub fn requested_number(raw: Option<&str>) -> u64 {
        match raw.map(str::trim) {
            None | Some("") => 1,
            Some(text) => match text.parse::<u64>() {
                Ok(0) => u64::MAX,
                Ok(number) => number,
                Err(_) if text.parse::<i64>().is_ok() => u64::MAX,
                Err(_) => 1,
            },
        }
    }

    /// The offset of page `number` (1-based) with `per_page` items a page; saturates instead
    /// of overflowing for a huge number.
    pub fn offset_of(number: u64, per_page: u64) -> u64 {
        number.saturating_sub(1).saturating_mul(per_page.max(1))
    }

    /// The page named by `raw`: the first page if it is not a number, the last if it is out of range.
    pub fn get_page(&self, raw: Option<&str>) -> Page {
        match self.page(raw) {
            Ok(page) => page,
            Err(PageError::NotAnInteger) => self.make(1),
            Err(PageError::Empty) => self.make(self.num_pages()),
        }
    }

    fn make(&self, number: u64) -> Page {
        Page { number, num_pages: self.num_pages(), count: self.count, per_page: self.per_page, query: String::new() }
    }
}

/// One page: which items it holds and how to reach its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub number: u64,
    /// Pages in all.
    pub num_pages: u64,
    /// Items in all.
    pub count: u64,
    /// Items per page.
    pub per_page: u64,
    /// The other query parameters, encoded, kept in page links.
    query: String,
}

impl Page {
    /// Keeps the other parameters of `query` (a raw query string) in the page links,
    /// as Django's `{% querystring page=N %}` does: a search stays a search on page 2.
    pub fn with_query(mut self, query: Option<&str>) -> Self {
        self.query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).filter(|(name, _)| name != "page"),
            )
            .finish();
        self
    }

    /// Rows to skip (SQL `OFFSET`).
    pub fn offset(&self) -> u64 {
        (self.number - 1) * self.per_page
    }

    /// Rows to read (SQL `LIMIT`).
    pub fn limit(&self) -> u64 {
        self.per_page
    }

    /// Whether a later page exists.
    pub fn has_next(&self) -> bool {
        self.number < self.num_pages
    }

    /// Whether an earlier page exists.
    pub fn has_previous(&self) -> bool {
        self.number > 1
    }

    /// Whether there is more than one page.
    pub fn has_other_pages(&self) -> bool {
        self.num_pages > 1
    }

    /// The next page's number (the last page's own if there is none).
    pub fn next_page_number(&self) -> u64 {
        (self.number + 1).min(self.num_pages)
    }

    /// The previous page's number (1 if there is none).
    pub fn previous_page_number(&self) -> u64 {
        self.number.saturating_sub(1).max(1)
    }

    /// 1-based index of the first item on this page (0 for an empty list).
    pub fn start_index(&self) -> u64 {
        if self.count == 0 { 0 } else { self.offset() + 1 }
    }

    /// 1-based index of the last item on this page.
    pub fn end_index(&self) -> u64 {
        (self.offset() + self.per_page).min(self.count)
    }

    /// The query string of a link to page `number`, starting with `?`.
    pub fn href(&self, number: u64) -> String {
        if self.query.is_empty() { format!("?page={number}") } else { format!("?{}&page={number}", self.query) }
    }

    /// Page numbers for a page bar, with `None` for a gap: the first and last two pages and
    /// three either side of the current one (Django's `get_elided_page_range`).
    pub fn elided_range(&self) -> Vec<Option<u64>> {
        const ON_EACH_SIDE: u64 = 3;
        const ON_ENDS: u64 = 2;
        let (n, last) = (self.number, self.num_pages);
        if last <= (ON_EACH_SIDE + ON_ENDS) * 2 {
            return (1..=last).map(Some).collect();
        }
        let mut out = Vec::new();
        if n > 1 + ON_EACH_SIDE + ON_ENDS + 1 {
            out.extend((1..=ON_ENDS).map(Some));
            out.push(None);
            out.extend((n - ON_EACH_SIDE..=n).map(Some));
        } else {
            out.extend((1..=n).map(Some));
        }
        if n + ON_EACH_SIDE + ON_ENDS + 1 < last {
            out.extend((n + 1..=n + ON_EACH_SIDE).map(Some));
            out.push(None);
            out.extend((last - ON_ENDS + 1..=last).map(Some));
        } else {
            out.extend((n + 1..=last).map(Some));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_split_the_items() {
        let paginator = Paginator::new(10, 3);
        assert_eq!(paginator.num_pages(), 4);
        let second = paginator.page(Some("2")).unwrap();
        assert_eq!((second.offset(), second.limit(), second.start_index(), second.end_index()), (3, 3, 4, 6));
        assert!(second.has_next() && second.has_previous() && second.has_other_pages());
        assert_eq!((second.previous_page_number(), second.next_page_number()), (1, 3));
        let last = paginator.page(Some("4")).unwrap();
        assert_eq!((last.start_index(), last.end_index()), (10, 10));
        assert!(!last.has_next());
    }

    #[test]
    fn an_empty_list_has_one_empty_page() {
        let paginator = Paginator::new(0, 3);
        assert_eq!(paginator.num_pages(), 1);
        let page = paginator.page(None).unwrap();
        assert_eq!((page.number, page.start_index(), page.end_index()), (1, 0, 0));
        assert!(!page.has_other_pages());
    }

    #[test]
    fn strict_pages_refuse_bad_numbers() {
        let paginator = Paginator::new(10, 3);
        assert_eq!(paginator.page(Some("x")), Err(PageError::NotAnInteger));
        assert_eq!(paginator.page(Some("2.5")), Err(PageError::NotAnInteger));
        assert_eq!(paginator.page(Some("0")), Err(PageError::Empty));
        assert_eq!(paginator.page(Some("-1")), Err(PageError::Empty));
        assert_eq!(paginator.page(Some("5")), Err(PageError::Empty));
        assert_eq!(paginator.page(Some("99999999999999999999999")), Err(PageError::NotAnInteger));
        assert_eq!(paginator.page(Some(" 2 ")).unwrap().number, 2);
    }

    #[test]
    fn the_requested_number_agrees_with_get_page_once_the_count_is_known() {
        let paginator = Paginator::new(10, 3);
        for raw in [
            None,
            Some(""),
            Some(" 2 "),
            Some("4"),
            Some("5"),
            Some("0"),
            Some("-1"),
            Some("x"),
            Some("9".repeat(30).as_str()),
        ] {
            let requested = Paginator::requested_number(raw);
            let page = paginator.get_page(raw);
            // In range, the guess is the page; otherwise it is past the end and the page is the last.
            if requested <= paginator.num_pages() {
                assert_eq!(requested, page.number, "{raw:?}");
                assert_eq!(Paginator::offset_of(requested, 3), page.offset(), "{raw:?}");
            } else {
                assert_eq!(page.number, paginator.num_pages(), "{raw:?}");
            }
        }
        assert_eq!(Paginator::requested_number(Some("0")), u64::MAX);
        assert_eq!(Paginator::offset_of(u64::MAX, 3), u64::MAX);
    }

    #[test]
    fn lenient_pages_fall_back_to_the_first_or_last() {
        let paginator = Paginator::new(10, 3);
        assert_eq!(paginator.get_page(Some("abc")).number, 1);
        assert_eq!(paginator.get_page(None).number, 1);
        assert_eq!(paginator.get_page(Some("9")).number, 4);
        assert_eq!(paginator.get_page(Some("0")).number, 4, "Django treats 0 as out of range");
    }

    #[test]
    fn links_keep_the_other_parameters() {
        let page = Paginator::new(10, 3).get_page(Some("2"));
        assert_eq!(page.href(3), "?page=3");
        let page = page.with_query(Some("query=caf%C3%A9+au+lait&page=2&tag=x"));
        assert_eq!(page.href(3), "?query=caf%C3%A9+au+lait&tag=x&page=3");
    }

    #[test]
    fn long_ranges_are_elided() {
        let range = |n: u64, pages: u64| {
            let page = Paginator::new(pages * 10, 10).get_page(Some(&n.to_string()));
            page.elided_range()
                .iter()
                .map(|p| p.map_or("…".to_owned(), |p| p.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(range(1, 5), "1 2 3 4 5");
        assert_eq!(range(1, 50), "1 2 3 4 … 49 50");
        assert_eq!(range(25, 50), "1 2 … 22 23 24 25 26 27 28 … 49 50");
        assert_eq!(range(50, 50), "1 2 … 47 48 49 50");
    }
}
