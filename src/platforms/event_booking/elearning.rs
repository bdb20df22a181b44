//! The eLearning catalogue: undated courses and the pager.

use super::*;

/// Parses the eLearning catalogue (`/elearning-list`): undated courses, and the
/// pager's next page.
pub fn parse_elearning(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<(Vec<Course>, Option<Url>), ParseError> {
    let sel = &*cfg.markup;
    let Some(doc) = readable_page(html, page_url) else {
        return Ok((Vec::new(), None));
    };
    let candidates: Vec<ElementRef<'_>> = doc.select(&sel.elearning_entry).collect();
    let mut courses: Vec<Course> = Vec::new();
    for el in innermost(&candidates) {
        let Some(course) = read_course(el, page_url, sel, ctx) else {
            continue;
        };
        if !courses.iter().any(|c| c.id == course.id) {
            courses.push(course);
        }
    }
    if courses.is_empty() && !NO_EVENTS.is_match(&text_lines(doc.root_element(), &[]).join(" ")) {
        tracing::warn!(url = %page_url, "eLearning page has no courses and does not say it is empty; has the markup changed?");
    }
    Ok((courses, next_link(&doc, &sel.next_page, page_url)))
}

/// The page's document, or `None` (with a warning) when it cannot be read or
/// nests deeper than a real page does: the catalogue is ignored, not failed.
fn readable_page(html: &str, page_url: &Url) -> Option<Html> {
    let doc = match crate::platforms::parse_html(html, page_url) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "eLearning page ignored");
            return None;
        }
    };
    if let Some(depth) = too_deep(&doc) {
        tracing::warn!(url = %page_url, depth, "eLearning page nested too deeply to be a real page; ignored");
        return None;
    }
    Some(doc)
}

/// The candidates that hold no other candidate: an element that holds one is
/// a wrapper, not a course. Each ancestor chain is walked once (stopping at
/// one already seen): linear.
fn innermost<'a>(candidates: &[ElementRef<'a>]) -> Vec<ElementRef<'a>> {
    let mut above_a_candidate = std::collections::HashSet::new();
    for c in candidates {
        for anc in c.ancestors() {
            if !above_a_candidate.insert(anc.id()) {
                break;
            }
        }
    }
    candidates
        .iter()
        .copied()
        .filter(|c| !above_a_candidate.contains(&c.id()))
        .collect()
}

/// One course entry, or `None` when it has no title. Its id is the last
/// number of its same-site link (else the link, else the title).
fn read_course(
    el: ElementRef<'_>,
    page_url: &Url,
    sel: &Compiled,
    ctx: &SourceContext,
) -> Option<Course> {
    let title = first_text(el, &HEADING_OR_LINK)?;
    let (id, url) = match course_link(el, page_url) {
        Some(u) => (
            last_number(&u).unwrap_or_else(|| u.to_string()),
            u.to_string(),
        ),
        None => (title.clone(), page_url.to_string()),
    };
    let category = course_category(el, &sel.labels.category);
    let description = first_text(el, &DESCRIPTION_CLASS).or_else(|| {
        el.select(&PARAGRAPH)
            .map(normalise_text)
            .find(|t| !t.is_empty() && *t != title && Some(t) != category.as_ref())
    });
    Some(Course {
        source: ctx.source_id.clone(),
        id,
        title,
        category,
        description,
        url,
    })
}

/// The entry's first link that resolves to a page on the catalogue's site.
fn course_link(el: ElementRef<'_>, page_url: &Url) -> Option<Url> {
    el.select(&ANY_LINK)
        .filter_map(|a| a.attr("href"))
        .filter_map(|h| page_url.join(h.trim()).ok())
        .find(|u| same_origin(u, page_url))
}

/// The entry's category: an element whose class names one, else a line
/// the category label matches (label words stripped either way).
fn course_category(el: ElementRef<'_>, label: &Regex) -> Option<String> {
    el.select(&CATEGORY_CLASS)
        .map(normalise_text)
        .map(|t| strip_label(&t, label))
        .find(|t| !t.is_empty())
        .or_else(|| {
            text_lines_capped(el, &[], ENTRY_NODES)
                .iter()
                .find(|l| label.is_match(l))
                .map(|l| strip_label(l, label))
        })
}
