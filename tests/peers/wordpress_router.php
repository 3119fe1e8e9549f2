<?php
/* Router for PHP's built-in server serving Debian's WordPress (tests/peers/wordpress.py).
 *
 * Apache would get the same from Debian's .htaccess and Alias lines; the built-in server
 * has neither, so this script does their work:
 *  - every request loads the config chosen by the WORDPRESS_CONFIG environment variable
 *    (Debian's wp-config.php reads $_SERVER['WORDPRESS_CONFIG'] before the Host header),
 *    so the port in the Host header does not matter;
 *  - /wp-content/... is served from WP_CONTENT_DIR (uploads live outside the package);
 *  - existing .php files run, other existing files are served as they are, and every
 *    other path (the pretty /wp-json/... routes included) goes to index.php.
 */
$_SERVER['WORDPRESS_CONFIG'] = getenv('WORDPRESS_CONFIG');
$router_root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$router_path = '/' . ltrim(rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/'), '/');
$router_content_dir = getenv('WORDPRESS_CONTENT_DIR');

if ($router_content_dir && strpos($router_path, '/wp-content/') === 0 && strpos($router_path, '..') === false) {
    $router_file = $router_content_dir . substr($router_path, strlen('/wp-content'));
    if (is_file($router_file) && substr($router_file, -4) !== '.php') {
        header('Content-Type: ' . (mime_content_type($router_file) ?: 'application/octet-stream'));
        header('Content-Length: ' . filesize($router_file));
        readfile($router_file);
        return true;
    }
}
if (strpos($router_path, '..') === false && is_file($router_root . $router_path)) {
    if (substr($router_path, -4) !== '.php') {
        return false;  // a static file of the package: the built-in server sends it
    }
    $router_script = $router_path;
} else {
    $router_script = '/index.php';
}
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = $router_script;
$_SERVER['SCRIPT_FILENAME'] = $router_root . $router_script;
chdir(dirname($_SERVER['SCRIPT_FILENAME']));
// WordPress's files run in the global scope and keep globals of their own: leave them
// none of ours.
unset($router_root, $router_path, $router_content_dir, $router_file, $router_script);
require $_SERVER['SCRIPT_FILENAME'];
