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
    let doc = match crate::platforms::parse_html(html, page_url) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "eLearning page ignored");
            return Ok((Vec::new(), None));
        }
    };
    if let Some(depth) = too_deep(&doc) {
        tracing::warn!(url = %page_url, depth, "eLearning page nested too deeply to be a real page; ignored");
        return Ok((Vec::new(), None));
    }
    let candidates: Vec<ElementRef<'_>> = doc.select(&sel.elearning_entry).collect();
    // An element that holds another candidate is a wrapper, not a course. Each
    // ancestor chain is walked once (stopping at one already seen): linear.
    let mut above_a_candidate = std::collections::HashSet::new();
    for c in &candidates {
        for anc in c.ancestors() {
            if !above_a_candidate.insert(anc.id()) {
                break;
            }
        }
    }
    let innermost: Vec<ElementRef<'_>> = candidates
        .iter()
        .copied()
        .filter(|c| !above_a_candidate.contains(&c.id()))
        .collect();
    let mut courses: Vec<Course> = Vec::new();
    for el in innermost {
        let Some(title) = first_text(el, &HEADING_OR_LINK) else {
            continue;
        };
        let link = el
            .select(&ANY_LINK)
            .filter_map(|a| a.attr("href"))
            .filter_map(|h| page_url.join(h.trim()).ok())
            .find(|u| same_origin(u, page_url));
        let (id, url) = match &link {
            Some(u) => (
                last_number(u).unwrap_or_else(|| u.to_string()),
                u.to_string(),
            ),
            None => (title.clone(), page_url.to_string()),
        };
        let lines = text_lines_capped(el, &[], ENTRY_NODES);
        let category = el
            .select(&CATEGORY_CLASS)
            .map(normalise_text)
            .map(|t| strip_label(&t, &sel.labels.category))
            .find(|t| !t.is_empty())
            .or_else(|| {
                lines
                    .iter()
                    .find(|l| sel.labels.category.is_match(l))
                    .map(|l| strip_label(l, &sel.labels.category))
            });
        let description = first_text(el, &DESCRIPTION_CLASS).or_else(|| {
            el.select(&PARAGRAPH)
                .map(normalise_text)
                .find(|t| !t.is_empty() && *t != title && Some(t) != category.as_ref())
        });
        if courses.iter().any(|c| c.id == id) {
            continue;
        }
        courses.push(Course {
            source: ctx.source_id.clone(),
            id,
            title,
            category,
            description,
            url,
        });
    }
    if courses.is_empty() && !NO_EVENTS.is_match(&text_lines(doc.root_element(), &[]).join(" ")) {
        tracing::warn!(url = %page_url, "eLearning page has no courses and does not say it is empty; has the markup changed?");
    }
    Ok((courses, next_link(&doc, &sel.next_page, page_url)))
}
