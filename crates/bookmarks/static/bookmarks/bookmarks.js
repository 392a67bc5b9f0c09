// The bookmarks' behaviours. Without JavaScript the like and follow buttons are forms that post
// and the image list is paged; with it, they answer in place and the list grows as you scroll.

// Likes and follows: the form is sent with fetch (its CSRF token included), and on
// {"status": "ok"} the button switches and the count moves by one, without a reload.
for (const form of document.querySelectorAll('form.like-form, form.follow-form')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button');
    const action = form.querySelector('input[name=action]');
    button.disabled = true;
    try {
      // getAttribute: the form's `action` property is its input named "action". The body is
      // URL-encoded, as the form itself would send it (multipart is for uploads only).
      const body = new URLSearchParams(new FormData(form));
      const response = await fetch(form.getAttribute('action'), { method: 'POST', body, mode: 'same-origin' });
      const answer = response.ok ? await response.json() : { status: 'error' };
      if (answer.status !== 'ok') return;
      const adding = action.value === 'like' || action.value === 'follow';
      const next = { like: 'unlike', unlike: 'like', follow: 'unfollow', unfollow: 'follow' }[action.value];
      action.value = next;
      button.dataset.action = next;
      button.textContent = button.dataset[next + 'Text'];
      const count = document.querySelector('.count');
      const total = count.querySelector('.total');
      const n = Math.max(0, parseInt(total.textContent, 10) + (adding ? 1 : -1));
      total.textContent = n;
      const noun = count.querySelector('.noun');
      if (noun) noun.textContent = n === 1 ? noun.dataset.one : noun.dataset.many;
    } finally {
      button.disabled = false;
    }
  });
}

// Infinite scroll: near the bottom of the list, the next page's images are appended
// (?images_only=1&page=N); an empty answer means there are no more.
const list = document.querySelector('#image-list[data-infinite]');
if (list) {
  let page = 1;
  let emptyPage = false;
  let blockRequest = false;
  const more = async () => {
    const margin = 200;
    if (emptyPage || blockRequest || window.scrollY + window.innerHeight < document.body.clientHeight - margin) return;
    blockRequest = true;
    page += 1;
    try {
      const response = await fetch('?images_only=1&page=' + page, { mode: 'same-origin' });
      const html = response.ok ? await response.text() : '';
      if (html.trim() === '') {
        emptyPage = true;
      } else {
        list.insertAdjacentHTML('beforeend', html);
      }
    } finally {
      blockRequest = false;
    }
    // A tall screen may still show the bottom: ask again.
    more();
  };
  window.addEventListener('scroll', more, { passive: true });
  more();
}
