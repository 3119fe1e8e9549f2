<?php
/* Prepare the test WordPress and print its credentials as JSON (tests/peers/wordpress.py).
 *
 *   WORDPRESS_CONFIG=<name> php wordpress_setup.php HOST:PORT
 *
 * Creates the database when missing, installs WordPress once (later runs reuse it), makes
 * sure the publishing user (an Editor, as a real site would give a marketing tool) exists,
 * turns on pretty permalinks so /wp-json/... routes, removes what earlier runs left behind
 * an hour ago or more, and creates a fresh application password for this run.
 */
$config = getenv('WORDPRESS_CONFIG');
$_SERVER['WORDPRESS_CONFIG'] = $config;
$_SERVER['HTTP_HOST'] = $argv[1];
$_SERVER['SERVER_NAME'] = preg_replace('/:.*/', '', $argv[1]);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
const PUBLISHER = 'campaignhub';
const LEFTOVERS_AGE = '1 hour ago';

// The database must exist before WordPress connects; the config names it.
require "/etc/wordpress/config-$config.php";
[$db_host, $db_port] = array_pad(explode(':', DB_HOST, 2), 2, '3306');
$db = new mysqli($db_host, DB_USER, DB_PASSWORD, '', (int) $db_port);
$db->query('CREATE DATABASE IF NOT EXISTS `' . DB_NAME . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
$db->close();

define('WP_INSTALLING', true);
require '/usr/share/wordpress/wp-load.php';  // Debian's layout
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (!is_blog_installed()) {
    $installed = wp_install('CampaignHub test blog', 'admin', 'admin@example.com', false, '', wp_generate_password(24));
    if (is_wp_error($installed)) {
        fwrite(STDERR, 'wp_install: ' . $installed->get_error_message() . "\n");
        exit(1);
    }
}
if (get_option('permalink_structure') !== '/%postname%/') {
    $wp_rewrite->set_permalink_structure('/%postname%/');
    flush_rewrite_rules(false);
}

$user = get_user_by('login', PUBLISHER);
$user_id = $user ? $user->ID : wp_insert_user([
    'user_login' => PUBLISHER,
    'user_pass' => wp_generate_password(24),
    'user_email' => PUBLISHER . '@example.com',
    'display_name' => 'CampaignHub',
    'role' => 'editor',
]);
if (is_wp_error($user_id)) {
    fwrite(STDERR, 'wp_insert_user: ' . $user_id->get_error_message() . "\n");
    exit(1);
}

// Leftovers of earlier runs (old enough that no running test session still needs them).
$old_posts = get_posts([
    'author' => $user_id,
    'post_type' => ['post', 'attachment'],
    'post_status' => 'any',
    'date_query' => [['before' => LEFTOVERS_AGE]],
    'numberposts' => -1,
    'fields' => 'ids',
]);
foreach ($old_posts as $post_id) {
    wp_delete_post($post_id, true);
}
$cutoff = strtotime(LEFTOVERS_AGE);
foreach (WP_Application_Passwords::get_user_application_passwords($user_id) as $item) {
    if ($item['created'] < $cutoff) {
        WP_Application_Passwords::delete_application_password($user_id, $item['uuid']);
    }
}

$created = WP_Application_Passwords::create_new_application_password(
    $user_id,
    ['name' => 'campaignhub tests ' . getmypid() . ' ' . microtime(true)]
);
if (is_wp_error($created)) {
    fwrite(STDERR, 'application password: ' . $created->get_error_message() . "\n");
    exit(1);
}
echo json_encode([
    'username' => PUBLISHER,
    'application_password' => $created[0],
    'version' => get_bloginfo('version'),
]), "\n";
