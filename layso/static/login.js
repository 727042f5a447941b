/* The login page: posts the form as JSON to the API (no inline script: the CSP forbids it). */
(function () {
  var form = document.getElementById('login-form');
  var err = document.getElementById('login-error');
  var next = form.getAttribute('data-next') || '';
  // only a path on this server: never an open redirect to another host
  if (!/^\/[a-z]/.test(next)) next = '/counter/';
  fetch('/api/v1/board').then(function (r) { return r.ok ? r.json() : null; }).then(function (b) {
    if (b && b.center) document.getElementById('center-name').textContent = b.center.name.vi;
  }).catch(function () {});
  function show(vi, en) {
    err.textContent = '';
    err.appendChild(document.createTextNode(vi));
    var s = document.createElement('span'); s.className = 'en'; s.textContent = en;
    err.appendChild(s);
    err.hidden = false;
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var btn = document.getElementById('login-submit');
    var username = form.username.value.trim(), password = form.password.value;
    if (!username || !password) {
      show('Vui lòng nhập tên đăng nhập và mật khẩu.', 'Enter your username and password.');
      return;
    }
    btn.disabled = true; err.hidden = true;
    fetch('/api/v1/auth/login', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, credentials: 'same-origin',
      body: JSON.stringify({username: username, password: password})
    }).then(function (r) {
      return r.json().then(function (body) { return {status: r.status, body: body}; });
    }).then(function (res) {
      if (res.status === 200) { window.location.href = next; return; }
      if (res.status === 429) {
        show('Đăng nhập sai quá nhiều lần. Vui lòng chờ một phút rồi thử lại.',
             'Too many attempts. Please wait a minute and try again.');
      } else {
        show('Sai tên đăng nhập hoặc mật khẩu.', 'Wrong username or password.');
      }
      btn.disabled = false; form.password.select();
    }).catch(function () {
      show('Không kết nối được máy chủ.', 'Cannot reach the server.');
      btn.disabled = false;
    });
  });
})();
