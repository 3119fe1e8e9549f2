from tests.factories import make_blog, make_post


def test_blog_post_is_served(client, home_page):
    blog = make_blog(home_page)
    post = make_post(blog, title="Hello world")
    response = client.get(post.url)
    assert response.status_code == 200
    assert b"Hello world" in response.content
